"""Liveness and readiness. The fast layer's Redis database has no worker, so
readiness fails with that reason; ready with a worker: tests/e2e/test_operations.py;
a burst of probes beside the intake: tests/app/test_readiness_burst.py."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.health import NO_WORKER
from tests.support.stack import RedisServer, hooklet_env
from workers.settings import load_settings


def test_healthz_answers_while_the_process_lives(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_is_503_without_workers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    body = response.json
    assert body["redis"] is True and body["workers"] == [] and body["workerNodes"] == 0
    assert body["problems"] == [NO_WORKER]


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[tuple[RedisServer, FlaskClient]]:
    """An app on a redis-server of its own, which the test can freeze."""
    server = RedisServer(tmp_path).start()
    yield server, create_app(load_settings(hooklet_env(server.url))).test_client()
    server.proc.send_signal(signal.SIGCONT)
    server.stop()


def test_readyz_answers_503_when_redis_does_not_answer(
    frozen: tuple[RedisServer, FlaskClient],
) -> None:
    """A Redis that accepts connections but never replies (stopped with
    SIGSTOP) makes the probe say so; it does not hang on it."""
    server, client = frozen
    assert client.get("/readyz").json["redis"] is True
    time.sleep(0.3)  # past the process's shared reading
    server.proc.send_signal(signal.SIGSTOP)
    for _ in range(2):
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["problems"] == ["redis is unreachable"]
    server.proc.send_signal(signal.SIGCONT)
