"""Fixtures for the security regressions (issue 13). The fast ones use the
fast layer's app and Redis database (``client``, ``fast_settings`` in
tests/conftest.py); the ``stack`` ones the session's whole stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
import redis
from flask.testing import FlaskClient

from app import create_app
from tests.support.stack import ADMIN_TOKEN
from workers.settings import Settings

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def make_client(fast_settings: Settings) -> Callable[..., FlaskClient]:
    """A test client of an app whose settings are the fast layer's with
    ``overrides`` (``Settings`` field names)."""

    def make(**overrides: object) -> FlaskClient:
        return create_app(replace(fast_settings, **overrides)).test_client()

    return make


@pytest.fixture
def store(fast_settings: Settings) -> redis.Redis:
    """The fast layer's Redis database, to look at keys directly."""
    return redis.Redis.from_url(fast_settings.redis_url)
