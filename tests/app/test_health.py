"""Liveness and readiness. The fast layer's Redis database has no worker, so
readiness fails with that reason; ready with a worker: tests/e2e/test_operations.py."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_healthz_answers_while_the_process_lives(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_is_503_without_workers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    body = response.json
    assert body["redis"] is True and body["workers"] == []
    assert body["problems"] == ["no worker answered a ping"]
