"""Fixtures for the security regressions (issue 13): the Flask app on a real
redis-server, for what the test client shows; the whole stack comes from
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from flask.testing import FlaskClient

from app import create_app
from tests.support.stack import ADMIN_TOKEN, RedisServer, hooklet_env
from workers.settings import load_settings

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def make_client(redis_server: RedisServer) -> Callable[..., FlaskClient]:
    """A test client of ``create_app`` with settings from the test env plus
    ``overrides`` (``HOOKLET_*`` names without the prefix)."""

    def make(**overrides: str | int) -> FlaskClient:
        settings = load_settings(hooklet_env(redis_server.url, **overrides))
        return create_app(settings).test_client()

    return make


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client()


@pytest.fixture
def store(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()
