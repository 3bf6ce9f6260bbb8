"""Redis unreachable: the intake answers 503 with Retry-After, never 202."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Api, RedisServer, Web, hooklet_env


@pytest.fixture
def lonely_stack(tmp_path) -> Iterator[tuple[RedisServer, Api]]:
    server = RedisServer(tmp_path).start()
    web = Web(hooklet_env(server.url), tmp_path).start()
    yield server, Api(web.url)
    web.stop()
    server.stop()


def test_intake_answers_503_while_redis_is_down(lonely_stack, hook_id: str) -> None:
    server, api = lonely_stack
    api.put_hook(hook_id, script="null")
    server.stop()
    for _ in range(3):  # pooled connections and fresh ones alike
        response = api.send(hook_id, data=b"{}")
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"].isdigit()
        assert response.json()["error"]["code"] == "unavailable"
    polled = api.http.get(f"{api.base}/jobs/{'a' * 32}", timeout=10)
    assert polled.status_code == 503
    ready = api.http.get(f"{api.base}/readyz", timeout=10)
    assert ready.status_code == 503 and "redis is unreachable" in ready.json()["problems"]

    server.start()  # same port, same AOF: the hook is still there
    response = api.send(hook_id, data=b"{}")
    assert response.status_code == 202
