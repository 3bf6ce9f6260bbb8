"""Shared fixtures: one real stack (redis-server, a Celery worker, gunicorn)
for the session; tests that break things start their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.receiver import Receiver
from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hooklet")


@pytest.fixture(scope="session")
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def env(redis_server: RedisServer) -> dict[str, str]:
    return hooklet_env(redis_server.url)


@pytest.fixture(scope="session")
def worker(env: dict[str, str], workdir: Path) -> Iterator[Worker]:
    w = Worker(env, workdir).start()
    yield w
    w.stop()


@pytest.fixture(scope="session")
def callbacks_worker(env: dict[str, str], workdir: Path) -> Iterator[Worker]:
    w = Worker(
        env, workdir, name="callbacks", queues="callbacks", pool="threads", concurrency=4
    ).start()
    yield w
    w.stop()


@pytest.fixture(scope="session")
def web(env: dict[str, str], workdir: Path) -> Iterator[Web]:
    server = Web(env, workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api(web: Web, worker: Worker) -> Api:
    return Api(web.url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hook_id() -> str:
    """A fresh hook id per test, so tests never see each other's hooks."""
    return f"t-{uuid.uuid4().hex[:12]}"
