"""A worker child killed under a job it took straight off its lane (after its
task's own job): its node queues the job again at once, so a sync caller
still gets its answer within its wait, and the attempt cap still holds."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest
import requests

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys

pytestmark = pytest.mark.stack

LEAD = "(async () => { await new Promise(r => setTimeout(r, 1000)); return { body: 'lead' }; })()"
VICTIM = "(async () => { await new Promise(r => setTimeout(r, 1500)); return { body: 'done' }; })()"


@pytest.fixture
def stack(tmp_path) -> Iterator[tuple[RedisServer, Api, Worker]]:
    server = RedisServer(tmp_path).start()
    env = hooklet_env(
        server.url,
        # A child takes queued jobs after its task's own for a long while...
        batch_window_ms=20_000,
        max_memory_per_child_mb=1024,
        # ...and the reaper would find an orphaned job only long after any wait.
        reaper_grace_s=60,
    )
    web = Web(env, tmp_path).start()
    worker = Worker(env, tmp_path, name="childdeath", concurrency=1).start()
    yield server, Api(web.url), worker
    worker.stop(signal.SIGKILL)
    web.stop()
    server.stop()


def _sync_call(api: Api, hook_id: str, answers: list[requests.Response]) -> threading.Thread:
    thread = threading.Thread(target=lambda: answers.append(api.send(hook_id, timeout=60)))
    thread.start()
    return thread


def _lead_running(api: Api, lead: str) -> None:
    """A slow async job runs: a sync event sent now is taken by the same
    child after it (the only child; the sync lane first)."""
    lead_id = api.send(lead).json()["jobId"]
    wait_until(lambda: api.job(lead_id)["status"] == "running", what="the lead job to run")


def _running(api: Api, server: RedisServer, hook_id: str, attempts: int) -> tuple[str, int]:
    client = server.client()

    def running() -> tuple[str, int] | None:
        job_id = client.lindex(keys.history(hook_id), 0)
        if job_id is None:
            return None
        job = api.job(job_id.decode())
        if job["status"] != "running" or job["attempts"] != attempts:
            return None
        return job_id.decode(), int(job["worker"].rsplit("/", 1)[1])

    return wait_until(running, timeout_s=30, what=f"attempt {attempts} of the sync job")


def test_a_job_taken_off_its_lane_reruns_when_its_child_dies(stack, hook_id: str) -> None:
    server, api, worker = stack
    lead, victim = hook_id + "-lead", hook_id + "-victim"
    api.put_hook(lead, script=LEAD)
    api.put_hook(victim, script=VICTIM, mode="sync", limits={"timeoutMs": 5000, "waitMs": 8000})
    _lead_running(api, lead)
    answers: list[requests.Response] = []
    caller = _sync_call(api, victim, answers)
    job_id, pid = _running(api, server, victim, attempts=1)
    # Taken by the child after the lead job, not claimed by a task's token:
    # no Celery message would ever bring it back.
    assert server.client().hget(keys.job(job_id), "token") is None
    os.kill(pid, signal.SIGKILL)
    caller.join(60)
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    assert answers[0].text == "done"
    job = api.job(job_id)
    assert (job["status"], job["attempts"]) == ("succeeded", 2)
    assert worker.proc.poll() is None


def test_a_taken_job_that_keeps_killing_children_ends_crashed(stack, hook_id: str) -> None:
    server, api, _ = stack
    lead, victim = hook_id + "-lead", hook_id + "-victim"
    api.put_hook(lead, script=LEAD)
    api.put_hook(victim, script=VICTIM, mode="sync", limits={"timeoutMs": 5000, "waitMs": 20000})
    _lead_running(api, lead)
    answers: list[requests.Response] = []
    caller = _sync_call(api, victim, answers)
    job_id = ""
    for attempt in (1, 2, 3):
        job_id, pid = _running(api, server, victim, attempts=attempt)
        os.kill(pid, signal.SIGKILL)
    caller.join(60)
    job = api.job(job_id)
    # Ended by the node that saw the third death, or by a fourth begin that
    # gives up (a redelivered task message may come first): never run again.
    assert (job["status"], job["reason"]) == ("failed", "crashed")
    assert "died 3 times" in job["error"]
    assert answers and answers[0].status_code == 500, answers and answers[0].text
    api.put_hook(hook_id + "-ok", script="({ body: 'ok' })")
    assert api.run(hook_id + "-ok")["status"] == "succeeded"
