"""Hooks live in Redis: they survive restarts of web, worker and Redis (AOF)."""

from __future__ import annotations

import pytest

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env

pytestmark = pytest.mark.stack


def test_hooks_and_events_survive_restarts(tmp_path, hook_id: str) -> None:
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url)
    web = Web(env, tmp_path).start()
    worker = Worker(env, tmp_path, concurrency=1).start()
    try:
        api = Api(web.url)
        api.put_hook(hook_id, script="({ body: 'v' + 1 })", secrets={"k": "v"})
        assert api.run(hook_id)["status"] == "succeeded"

        web.stop()
        worker.stop()
        # An event accepted while no worker runs waits in Redis...
        web = Web(env, tmp_path, port=web.port).start()
        queued = api.send(hook_id).json()["jobId"]
        # ...across a Redis restart (AOF)...
        web.stop()
        server.stop()
        server.start()
        web = Web(env, tmp_path, port=web.port).start()
        worker = Worker(env, tmp_path, concurrency=1).start()
        # ...and runs once a worker is back; the hook is unchanged.
        assert api.wait_job(queued)["status"] == "succeeded"
        hook = api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin).json()
        assert hook["version"] == 1 and hook["secretNames"] == ["k"]
        assert api.run(hook_id)["result"]["body"] == "v1"
    finally:
        worker.stop()
        web.stop()
        server.stop()
