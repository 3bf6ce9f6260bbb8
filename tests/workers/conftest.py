"""A redis-server per test module for the job store's tests: lanes are
shared keys, and no worker of the session's may take these jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import RedisServer


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("store")).start()
    yield server
    server.stop()
