"""A worker child SIGKILLed in the middle of an ordered key (issue 24): its
event runs again, and ends, before any later event of its key starts, though
another child stands idle the whole time."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator

import pytest

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until

pytestmark = pytest.mark.stack

SLOW = """(async () => {
  const t0 = Date.now();
  await new Promise(r => setTimeout(r, 1500));
  return { body: { t0, t1: Date.now() } };
})()"""


@pytest.fixture
def stack(tmp_path) -> Iterator[Api]:
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url, max_memory_per_child_mb=1024)
    web = Web(env, tmp_path).start()
    worker = Worker(env, tmp_path, name="orderdeath", concurrency=2).start()
    yield Api(web.url)
    worker.stop(signal.SIGKILL)
    web.stop()
    server.stop()


def test_a_killed_childs_event_reruns_before_the_next_event_of_its_key(
    stack: Api, hook_id: str
) -> None:
    api = stack
    api.put_hook(hook_id, script=SLOW, ordering={"key": "path"}, limits={"timeoutMs": 5000})
    job_ids = [api.send(hook_id, "/customer/1").json()["jobId"] for _ in range(3)]
    first = wait_until(
        lambda: (j := api.job(job_ids[0]))["status"] == "running" and j,
        timeout_s=30,
        what="the key's first event to run",
    )
    os.kill(int(first["worker"].rsplit("/", 1)[1]), signal.SIGKILL)
    jobs = [api.wait_job(job_id, timeout_s=90) for job_id in job_ids]
    assert [j["status"] for j in jobs] == ["succeeded"] * 3, jobs
    assert [j["attempts"] for j in jobs] == [2, 1, 1]
    runs = [json.loads(j["result"]["body"]) for j in jobs]
    for before, after in zip(runs, runs[1:], strict=False):
        assert after["t0"] >= before["t1"], runs  # the rerun ended before the next began
