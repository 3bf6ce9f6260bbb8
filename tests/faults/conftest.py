"""Fault tests get their own stack: one worker node with a single child, so
"the next job runs on the same worker" is literally true."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env


@pytest.fixture(scope="module")
def fault_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("faults")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fault_env(fault_redis: RedisServer) -> dict[str, str]:
    # Celery's own recycling is set high so the tests see what hooklet itself does.
    return hooklet_env(fault_redis.url, child_rss_mb=300, max_memory_per_child_mb=1024)


@pytest.fixture(scope="module")
def fault_worker(fault_env: dict[str, str], fault_redis: RedisServer) -> Iterator[Worker]:
    worker = Worker(fault_env, fault_redis.workdir, name="faults", concurrency=1).start()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def fault_web(fault_env: dict[str, str], fault_redis: RedisServer) -> Iterator[Web]:
    web = Web(fault_env, fault_redis.workdir).start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def fault_api(fault_web: Web, fault_worker: Worker) -> Api:
    return Api(fault_web.url)
