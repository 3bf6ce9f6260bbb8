"""Shared fixtures.

Two layers (README, *Tests*):
- fast: Flask's test client on ``create_app(settings)`` and jobs run by the
  ``Executor`` in the test process, against the session's real redis-server
  (database 1); plus unit tests. ``scripts/test -m "not stack"`` runs these.
- stack (``@pytest.mark.stack``): one real stack for the session
  (redis-server database 0, a Celery worker, gunicorn); tests that break
  things start their own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from stackkit import processes
from tests.support import stack
from tests.support.receiver import Receiver
from tests.support.stack import ADMIN_TOKEN, Api, RedisServer, Web, Worker, hooklet_env
from workers.queue.executor import Executor
from workers.settings import Settings, load_settings
from workers.store.stats.buffer import flush_process_buffers

# The fast layer's Redis database: the stack's processes use database 0, so
# their workers never take the fast layer's queued jobs, and the other way round.
FAST_DB = 1


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Only ``stack`` tests may start gunicorn or Celery (stackkit/processes.py)."""
    processes.processes_allowed = item.get_closest_marker("stack") is not None


@pytest.fixture(scope="session", autouse=True)
def _stats_buffers_stopped() -> Iterator[None]:
    """The test process's stats buffers flush and stop before pytest closes
    its output (their threads would log into a closed stream)."""
    yield
    flush_process_buffers()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hooklet")


@pytest.fixture(scope="session")
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of the test module's own: no worker of the session's
    stack (which watches the session server's database 0) takes its jobs."""
    server = RedisServer(tmp_path_factory.mktemp("store")).start()
    yield server
    server.stop()


# -- the fast layer --------------------------------------------------------


@pytest.fixture(scope="session")
def fast_settings(redis_server: RedisServer) -> Settings:
    """The test environment's settings on database ``FAST_DB``. The RSS caps
    are the test process's, not a worker child's: high, so the watchdog never
    ends pytest and a batch never stops taking jobs for the test process's
    own peak memory."""
    url = f"redis://127.0.0.1:{redis_server.port}/{FAST_DB}"
    redis.Redis.from_url(url).flushdb()  # a clean database, whatever ran before
    # The test process is not a worker child: a batch's peak-memory stop
    # (Celery's recycling cap) must not depend on what ran in it before.
    return load_settings(hooklet_env(url), child_rss_mb=8192, max_memory_per_child_mb=8192)


@pytest.fixture(scope="session")
def flask_app(fast_settings: Settings) -> Flask:
    return create_app(fast_settings)


@pytest.fixture
def client(flask_app: Flask) -> FlaskClient:
    """Flask's test client on the fast layer's app: real Redis, no gunicorn."""
    return flask_app.test_client()


@pytest.fixture(scope="session")
def admin() -> dict[str, str]:
    """The admin API's auth header."""
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="session")
def executor(fast_settings: Settings) -> Iterator[Executor]:
    """The worker's executor, in the test process (V8 included)."""
    executor = Executor(fast_settings)
    yield executor
    executor.pool.clear()


@pytest.fixture
def run_job(executor: Executor, client: FlaskClient) -> Callable[[str], dict]:
    """Run a queued job as a worker child would (``Executor.run_job``: this job, no batch)
    and return its public view (``GET /jobs/<id>``)."""

    def run(job_id: str) -> dict:
        executor.run_job(job_id, f"tests/{os.getpid()}")
        response = client.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return response.json

    return run


# -- the whole stack (tests marked ``stack``) -----------------------------------


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
def shadow_worker(env: dict[str, str], workdir: Path) -> Iterator[Worker]:
    w = stack.shadow_worker(env, workdir).start()
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


# -- both ------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hook_id() -> str:
    """A fresh hook id per test, so tests never see each other's hooks."""
    return f"t-{uuid.uuid4().hex[:12]}"
