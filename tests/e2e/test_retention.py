"""Issue 20, items 3 to 7, on a whole stack of its own whose retention is 3 s:
a backlog longer than the retention loses no accepted event; a callback
failing past its job's retention keeps the job until its delivery ends and
never leaves a record behind; a hook deleted while its events wait and
created again never runs the old events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.receiver import Receiver, Reply
from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys

pytestmark = pytest.mark.stack

RETENTION_S = 3
SLOW = "(async () => { await new Promise(r => setTimeout(r, 1000)); return { body: 'ok' }; })()"


class Stack:
    def __init__(self, server: RedisServer, api: Api, callbacks: Worker) -> None:
        self.server, self.api, self.callbacks = server, api, callbacks


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("retention")
    server = RedisServer(workdir).start()
    env = hooklet_env(server.url, retention_s=RETENTION_S, callback_schedule_s="2,2")
    web = Web(env, workdir).start()
    scripts = Worker(env, workdir, name="retention", concurrency=2).start()
    callbacks = Worker(
        env, workdir, name="retention-cb", queues="callbacks", pool="threads", concurrency=2
    ).start()
    yield Stack(server, Api(web.url), callbacks)
    callbacks.stop()
    scripts.stop()
    web.stop()
    server.stop()


def _status(api: Api, job_id: str) -> tuple[int, dict]:
    answer = api.http.get(f"{api.base}/jobs/{job_id}", timeout=10)
    return answer.status_code, answer.json()


def _follow(api: Api, job_ids: list[str], timeout_s: float) -> dict[str, dict]:
    """Poll every job until it ends; fails if one is missing (404) before."""
    ended: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_s
    while len(ended) < len(job_ids) and time.monotonic() < deadline:
        for job_id in job_ids:
            if job_id in ended:
                continue
            code, body = _status(api, job_id)
            assert code == 200, f"accepted job {job_id} vanished before it ended: {body}"
            if body["status"] in ("succeeded", "failed"):
                ended[job_id] = body
        time.sleep(0.1)
    assert len(ended) == len(job_ids), "jobs still not ended"
    return ended


def test_a_backlog_longer_than_the_retention_loses_no_accepted_event(
    stack: Stack, hook_id: str
) -> None:
    """Item 3: 12 one-second events, 2 children: the last wait about 6 s in
    the queue, twice the retention (they expired queued, 404, before)."""
    stack.api.put_hook(hook_id, script=SLOW)
    accepted = [stack.api.send(hook_id) for _ in range(12)]
    assert all(a.status_code == 202 for a in accepted)
    ended = _follow(stack.api, [a.json()["jobId"] for a in accepted], timeout_s=60)
    assert {job["status"] for job in ended.values()} == {"succeeded"}
    # Then each goes, a retention after its end, with its index entries.
    client = stack.server.client()
    for job_id in ended:
        wait_until(lambda j=job_id: _status(stack.api, j)[0] == 404, what=f"{job_id} expired")
    wait_until(
        lambda: client.zcard(keys.hook_jobs_index(hook_id)) == 0,
        what="the hook's index emptied by the reaper",
    )
    assert not [j for j in ended if client.zscore(keys.jobs_index(), j) is not None]


def test_a_callback_failing_past_its_jobs_retention_leaves_nothing_behind(
    stack: Stack, hook_id: str, receiver: Receiver
) -> None:
    """Items 5 and 6: attempts at 0, ~2 and ~4 s against a 3 s retention.
    Before, the last one wrote into the expired key (a job with no expiry,
    200 all-null on GET, KeyError in the callback worker)."""
    receiver.default = Reply(status=500)
    stack.api.put_hook(hook_id, script="({ body: 'done' })", callbackUrl=receiver.url)
    job_id = stack.api.run(hook_id)["jobId"]

    def delivery_over() -> bool:
        code, body = _status(stack.api, job_id)
        assert code == 200, f"the job vanished while its delivery was due: {body}"
        assert body["status"] == "succeeded", body
        return (body.get("delivery") or {}).get("status") == "failed"

    wait_until(delivery_over, timeout_s=30, interval_s=0.1, what="the delivery to fail")
    assert len(receiver.for_job(job_id)) == 3
    failed = stack.api.http.get(
        f"{stack.api.base}/api/jobs",
        params={"delivery": "failed", "hook": hook_id},
        headers=stack.api.admin,
        timeout=10,
    ).json()["jobs"]
    assert [j["jobId"] for j in failed] == [job_id]

    client = stack.server.client()
    wait_until(lambda: _status(stack.api, job_id)[0] == 404, what="the job expired")
    wait_until(
        lambda: client.zscore(keys.delivery_failed_index(), job_id) is None,
        what="its failed-delivery entry trimmed",
    )
    time.sleep(2.5)  # a retry, had one been left, would have come by now
    assert not client.exists(keys.job(job_id))
    assert client.zscore(keys.callbacks_due(), job_id) is None
    assert len(receiver.for_job(job_id)) == 3
    assert "KeyError" not in stack.callbacks.log()


def test_a_hook_recreated_while_its_events_wait_never_runs_them(stack: Stack, hook_id: str) -> None:
    """Item 7: the old events end as ``hook_gone`` for their senders; none
    replays under the new owner (409), alone or in bulk by hook."""
    api = stack.api
    api.put_hook(hook_id, script=SLOW)
    sent = [
        api.send(hook_id, data=b"old", headers={"Authorization": "Bearer old-sender"})
        for _ in range(6)
    ]
    job_ids = [s.json()["jobId"] for s in sent]
    url = f"{api.base}/api/hooks/{hook_id}"
    assert api.http.delete(url, headers=api.admin, timeout=10).status_code == 204
    api.put_hook(hook_id, script="({ body: 'new owner' })", secrets={"KEY": "new"})

    ended = _follow(api, [j for j in job_ids if _status(api, j)[0] == 200], timeout_s=60)
    assert any(job["reason"] == "hook_gone" for job in ended.values())
    for job_id in ended:
        replay = api.http.post(f"{api.base}/api/jobs/{job_id}/replay", headers=api.admin)
        assert replay.status_code == 409, replay.text
        assert replay.json()["error"]["code"] == "hook_version_gone"
    bulk = api.http.post(
        f"{api.base}/api/jobs/replay",
        json={"filter": {"hook": hook_id, "replayed": True}},
        headers=api.admin,
        timeout=10,
    ).json()
    assert bulk["replayed"] == [] and bulk["failed"] == []  # none of them is the new hook's
