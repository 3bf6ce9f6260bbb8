"""The SSRF guard applies again at delivery time: DNS can change after a hook
was accepted. Here the web allowlists 127.0.0.1 and the workers do not."""

from __future__ import annotations

import pytest

from tests.support.receiver import Receiver
from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until

pytestmark = pytest.mark.stack


def test_delivery_refuses_an_internal_address(tmp_path, hook_id: str) -> None:
    receiver = Receiver()
    server = RedisServer(tmp_path).start()
    web = Web(hooklet_env(server.url), tmp_path).start()
    strict = hooklet_env(server.url, callback_allowlist="")
    workers = [
        Worker(strict, tmp_path, concurrency=1).start(),
        Worker(
            strict, tmp_path, name="callbacks", queues="callbacks", pool="threads", concurrency=2
        ).start(),
    ]
    try:
        api = Api(web.url)
        api.put_hook(hook_id, script="null", callbackUrl=receiver.url)
        job = api.run(hook_id)
        attempt = wait_until(
            lambda: (api.job(job["jobId"]).get("delivery") or {}).get("attempts"),
            what="a delivery attempt",
        )[0]
        assert "internal address" in attempt["error"]
        assert receiver.received == []
    finally:
        for worker in workers:
            worker.stop()
        web.stop()
        server.stop()
        receiver.close()
