# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""A sender's lone UTF-16 surrogate, or a script that forges what the host
reads, through a real stack (gunicorn, Celery, Redis, V8) from a real HTTP
sender (issue 20 item 2). Before, the host failed to parse the run's output,
the job stayed running, the reaper ran it (and its fetch) again, and it
ended ``crashed`` after three attempts; a sync caller got a 202 after its
whole wait. Now each run ends once: attempts 1, the upstream hit once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from tests.support.upstream import Upstream
from workers.store import keys

pytestmark = pytest.mark.stack

SURROGATE_BODY = b'{"sender": "\\ud800"}'
READ_SENDER = "JSON.parse(Deno.core.decode(new Uint8Array(context.body))).sender"
REAPER_S = 1  # the reaper's interval and grace here: a stuck job would rerun within seconds


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture(scope="module")
def hostile_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("hostile")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(hostile_redis: RedisServer) -> Iterator[Api]:
    env = hooklet_env(
        hostile_redis.url,
        egress_allowlist="127.0.0.1",
        reaper_interval_s=REAPER_S,
        reaper_grace_s=REAPER_S,
    )
    worker = Worker(env, hostile_redis.workdir, name="hostile", concurrency=1).start()
    web = Web(env, hostile_redis.workdir).start()
    yield Api(web.url)
    web.stop()
    worker.stop()


def fetch_then(upstream: Upstream, then: str) -> str:
    """A script with a side effect (one fetch to the upstream), then ``then``."""
    return f"""(async () => {{
        const r = await fetch('{upstream.url}/data');
        const s = {READ_SENDER};
        {then}
    }})()"""


def ended_once(
    stack: Api, hostile_redis: RedisServer, upstream: Upstream, job_id: str, hits_before: int
) -> dict:
    """The job ended in its first attempt, the upstream was hit once, and
    nothing is left for the reaper to run again: the job is off the running
    set it sweeps (before the fix the job stayed there, and ran again once
    its deadline had passed)."""
    job = stack.wait_job(job_id)
    assert job["attempts"] == 1, job
    running = hostile_redis.client()
    wait_until(
        lambda: running.zscore(keys.running(), job_id) is None,
        timeout_s=10,
        what="the job to leave the running set",
    )
    again = stack.job(job_id)
    assert (again["status"], again["attempts"]) == (job["status"], 1), again
    assert upstream.hits - hits_before == 1
    return job


@pytest.mark.parametrize(
    ("then", "status", "reason"),
    [
        (
            "console.log('sender', s); return { body: { s }, headers: { 'x-s': 'ok' } };",
            "succeeded",
            None,
        ),
        ("throw new Error('bad sender ' + s);", "failed", "error"),
        ("await secutils.kv.set('k' + s, 'dg'); return { body: s };", "succeeded", None),
        (
            "Object.prototype.toJSON = function () { return 5; }; await secutils.crypto.seal('k', s);",
            "failed",
            "error",
        ),
    ],
    ids=["log", "throw", "kv", "forged-seal"],
)
def test_a_surrogate_from_a_sender_ends_the_run_once(
    stack: Api,
    hostile_redis: RedisServer,
    upstream: Upstream,
    then: str,
    status: str,
    reason: str | None,
) -> None:
    hook_id = f"s-{uuid.uuid4().hex[:10]}"
    stack.put_hook(hook_id, mode="async", script=fetch_then(upstream, then))
    hits = upstream.hits
    response = stack.send(hook_id, "/p%ff", params={"q": b"\xff"}, data=SURROGATE_BODY,
                          headers={"content-type": "application/json", "x-raw": "\xff"})  # fmt: skip
    assert response.status_code == 202, response.text
    job = ended_once(stack, hostile_redis, upstream, response.json()["jobId"], hits)
    assert (job["status"], job.get("reason")) == (status, reason), job
    if status == "failed":
        assert job["error"]


def test_a_sync_caller_gets_the_scripts_answer_not_a_202(
    stack: Api, hostile_redis: RedisServer, upstream: Upstream
) -> None:
    hook_id = f"s-{uuid.uuid4().hex[:10]}"
    stack.put_hook(hook_id, mode="sync", debugHeaders=True,
                   script=fetch_then(upstream, "console.log(s); return { statusCode: 201, body: { s } };"))  # fmt: skip
    hits = upstream.hits
    response = stack.send(hook_id, data=SURROGATE_BODY)
    assert response.status_code == 201, response.text
    assert response.json() == {"s": "\ufffd"}
    ended_once(stack, hostile_redis, upstream, response.headers["X-Hooklet-Job"], hits)
