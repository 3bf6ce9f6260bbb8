"""Redis unreachable: the intake answers 503 with Retry-After, never 202.
The app runs in the test process against a redis-server of its own, which
the test stops and starts again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.support.fast import put_hook, send
from tests.support.stack import RedisServer, hooklet_env
from workers.settings import load_settings


@pytest.fixture
def lonely(tmp_path: Path) -> Iterator[tuple[RedisServer, FlaskClient]]:
    server = RedisServer(tmp_path).start()
    yield server, create_app(load_settings(hooklet_env(server.url))).test_client()
    server.stop()


def test_intake_answers_503_while_redis_is_down(
    lonely: tuple[RedisServer, FlaskClient], admin: dict[str, str], hook_id: str
) -> None:
    server, client = lonely
    put_hook(client, admin, hook_id, script="null")
    server.stop()
    for _ in range(3):  # pooled connections and fresh ones alike
        response = send(client, hook_id, data=b"{}")
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"].isdigit()
        assert response.json["error"]["code"] == "unavailable"
    assert client.get(f"/jobs/{'a' * 32}").status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "redis is unreachable" in ready.json["problems"]

    server.start()  # same port, same AOF: the hook is still there
    assert send(client, hook_id, data=b"{}").status_code == 202
