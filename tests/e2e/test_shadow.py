# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""Shadow runs (issue 25 item 4) on the real stack (gunicorn, a script
worker, the shadow worker node, a callbacks worker, Redis, V8) with a local
upstream that counts what it receives: at sample 1.0 every live event gets a
shadow result (``differs`` with the right diff), the upstream receives the
live runs' requests and not one more, KV and callbacks are the live runs'
alone; sample 0 runs none; a draft that adds a fetch ``diverged``; with the
shadow node stopped, live events still finish, and a full shadow lane
counts what it could not take as ``skipped``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from tests.support.receiver import Receiver
from tests.support.stack import (
    Api,
    RedisServer,
    Web,
    Worker,
    hooklet_env,
    shadow_worker,
    wait_until,
)
from tests.support.upstream import Upstream
from workers.store import keys

pytestmark = pytest.mark.stack
QUEUE_MAX = 3  # HOOKLET_SHADOW_QUEUE_MAX of this stack
LIVE = """(async () => {
  const r = await fetch("UP/data");
  const seen = await secutils.kv.get("count");
  const n = seen ? seen.length / 4 + 1 : 1;
  await secutils.kv.set("count", "QUFB".repeat(n));
  return { statusCode: 200, headers: { "x-time": new Date().toISOString() },
           body: { upstream: await r.json(), n, now: Date.now(), id: crypto.randomUUID() } };
})()"""


@dataclass
class Stack:
    api: Api
    redis: redis.Redis
    shadow: Worker
    upstream: Upstream
    receiver: Receiver


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    server = RedisServer(tmp_path_factory.mktemp("shadow")).start()
    env = hooklet_env(server.url, egress_allowlist="127.0.0.1", shadow_queue_max=QUEUE_MAX)
    workdir = server.workdir
    worker = Worker(env, workdir, name="live", concurrency=2).start()
    callbacks = Worker(env, workdir, name="callbacks", queues="callbacks", pool="threads",
                       concurrency=2).start()  # fmt: skip
    shadow = shadow_worker(env, workdir).start()
    web = Web(env, workdir).start()
    upstream, receiver = Upstream(), Receiver()
    yield Stack(Api(web.url), server.client(), shadow, upstream, receiver)
    receiver.close()
    upstream.close()
    for process in (web, shadow, callbacks, worker):
        process.stop()
    server.stop()


def call(api: Api, method: str, path: str, **kwargs) -> dict:
    response = api.http.request(
        method, f"{api.base}/api/{path}", headers=api.admin, timeout=60, **kwargs
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


def shadow_of(api: Api, hook_id: str) -> dict:
    return call(api, "GET", f"hooks/{hook_id}/draft/shadow")


def counted(api: Api, hook_id: str, total: int) -> dict:
    """The shadow results once ``total`` runs are counted."""
    return wait_until(
        lambda: (s := shadow_of(api, hook_id)) and sum(s["counts"].values()) >= total and s,
        timeout_s=60,
        what=f"{total} shadow runs of {hook_id}",
    )


def body(job: dict) -> dict:
    return json.loads(job["result"]["body"])


def new_hook(s: Stack) -> tuple[str, str]:
    hook_id = f"sh-{uuid.uuid4().hex[:8]}"
    script = LIVE.replace("UP", s.upstream.url)
    s.api.put_hook(hook_id, script=script, callbackUrl=s.receiver.url)
    return hook_id, script


def changed(script: str) -> str:
    return script.replace("statusCode: 200", "statusCode: 201").replace("n, now", "n: n * 10, now")


def test_sample_one_shadows_every_event_and_reaches_nothing(stack: Stack) -> None:
    s = stack
    hook_id, script = new_hook(s)
    call(s.api, "PUT", f"hooks/{hook_id}/draft", json={"script": changed(script)})
    patched = call(s.api, "PATCH", f"hooks/{hook_id}", json={"shadow": {"sample": 1.0}})
    assert patched["shadow"] == {"sample": 1.0}
    hits = s.upstream.hits
    jobs = [s.api.run(hook_id, json={}) for _ in range(3)]
    assert [body(j)["n"] for j in jobs] == [1, 2, 3], jobs
    assert s.upstream.hits == hits + 3  # the live runs' own fetches
    kv = s.redis.hgetall(keys.kv_data(hook_id))

    found = counted(s.api, hook_id, 3)
    assert found["sample"] == 1.0
    draft = call(s.api, "GET", f"hooks/{hook_id}/draft")
    assert found["draftVersion"] == draft["etag"]
    assert found["counts"] == {"same": 0, "differs": 3, "diverged": 0, "failed": 0,
                               "nondeterministic": 0, "skipped": 0}  # fmt: skip
    assert sorted(r["jobId"] for r in found["recent"]) == sorted(j["jobId"] for j in jobs)
    by_job = {r["jobId"]: r for r in found["recent"]}
    for job in jobs:
        entry = by_job[job["jobId"]]
        assert entry["outcome"] == "differs" and entry["at"] > 0
        n = body(job)["n"]
        # Time, random id and upstream answer came back from the tape: only
        # what the draft changed differs.
        assert entry["diff"] == {
            "statusCode": {"stored": 200, "draft": 201},
            "body": {"json": True, "changes": [{"path": "$.n", "stored": n, "draft": n * 10}],
                     "more": False},
        }  # fmt: skip

    # Nothing left the sandbox: not one more upstream request, KV as the
    # live runs left it, no job in the history, a callback per live job only.
    assert s.upstream.hits == hits + 3
    assert s.redis.hgetall(keys.kv_data(hook_id)) == kv  # n went 1, 2, 3: no write between
    assert len(call(s.api, "GET", f"hooks/{hook_id}/jobs")["jobs"]) == 3
    wait_until(lambda: len(s.receiver.received) >= 3, what="the live jobs' callbacks")
    assert sorted(len(s.receiver.for_job(j["jobId"])) for j in jobs) == [1, 1, 1]
    metrics = s.api.http.get(f"{s.api.base}/metrics", timeout=30).text
    assert f'hooklet_shadow_runs_total{{hook="{hook_id}",outcome="differs"}} 3.0' in metrics


def test_sample_zero_runs_none(stack: Stack) -> None:
    s = stack
    hook_id, script = new_hook(s)
    call(s.api, "PUT", f"hooks/{hook_id}/draft", json={"script": changed(script)})
    call(s.api, "PATCH", f"hooks/{hook_id}", json={"shadow": {"sample": 0}})
    for _ in range(2):
        s.api.run(hook_id, json={})
    # One event at 1.0 after them: the lane is first in, first out with one
    # child, so any run of the earlier two would be counted before this one.
    call(s.api, "PATCH", f"hooks/{hook_id}", json={"shadow": {"sample": 1.0}})
    last = s.api.run(hook_id, json={})
    found = counted(s.api, hook_id, 1)
    assert sum(found["counts"].values()) == 1
    assert [r["jobId"] for r in found["recent"]] == [last["jobId"]]


def test_a_draft_that_adds_a_fetch_diverged_and_counts_start_again(stack: Stack) -> None:
    s = stack
    hook_id, script = new_hook(s)
    call(s.api, "PATCH", f"hooks/{hook_id}", json={"shadow": {"sample": 1.0}})
    call(s.api, "PUT", f"hooks/{hook_id}/draft", json={"script": changed(script)})
    s.api.run(hook_id, json={})
    assert counted(s.api, hook_id, 1)["counts"]["differs"] == 1
    adds_fetch = script.replace(
        "const seen =",
        f'await fetch("{s.upstream.url}/echo", {{ method: "POST", body: "x" }});\n  const seen =',
    )
    call(s.api, "PUT", f"hooks/{hook_id}/draft", json={"script": adds_fetch})
    assert sum(shadow_of(s.api, hook_id)["counts"].values()) == 0  # a new draft: new counts
    hits = s.upstream.hits
    job = s.api.run(hook_id, json={})
    found = counted(s.api, hook_id, 1)
    assert found["counts"]["diverged"] == 1, found
    assert found["recent"] == [{"jobId": job["jobId"], "outcome": "diverged", "at": found["recent"][0]["at"],
                                "diff": {"step": 2, "call": f"fetch POST {s.upstream.url}/echo"}}]  # fmt: skip
    assert s.upstream.hits == hits + 1  # the live run's fetch only


def test_a_stopped_shadow_node_never_holds_live_events(stack: Stack) -> None:
    s = stack
    hook_id, script = new_hook(s)
    call(s.api, "PUT", f"hooks/{hook_id}/draft", json={"script": script})  # the same script
    call(s.api, "PATCH", f"hooks/{hook_id}", json={"shadow": {"sample": 1.0}})
    s.shadow.stop()
    try:
        jobs = [s.api.run(hook_id, json={}) for _ in range(QUEUE_MAX + 2)]
        assert all(j["status"] == "succeeded" for j in jobs)  # live work went on
        assert s.redis.llen(keys.celery_queue("shadow")) == QUEUE_MAX  # the rest: skipped
        assert shadow_of(s.api, hook_id)["counts"]["skipped"] == 2
        metrics = s.api.http.get(f"{s.api.base}/metrics", timeout=30).text
        assert f'hooklet_queue_depth{{queue="shadow"}} {float(QUEUE_MAX)}' in metrics
    finally:
        s.shadow.start()
    found = counted(s.api, hook_id, QUEUE_MAX + 2)
    assert found["counts"]["same"] == QUEUE_MAX and found["counts"]["skipped"] == 2, found
    assert found["recent"] == []  # the same answers: no differences to keep


def test_a_draft_that_times_out_is_counted_failed(stack: Stack) -> None:
    s = stack
    hook_id, _ = new_hook(s)
    spins = "(() => { for (;;) {} })()"
    call(
        s.api, "PUT", f"hooks/{hook_id}/draft", json={"script": spins, "limits": {"timeoutMs": 300}}
    )
    call(s.api, "PATCH", f"hooks/{hook_id}", json={"shadow": {"sample": 1.0}})
    job = s.api.run(hook_id, json={})
    assert job["status"] == "succeeded"
    found = counted(s.api, hook_id, 1)
    assert found["counts"]["failed"] == 1, found
    (entry,) = found["recent"]
    assert entry["jobId"] == job["jobId"] and entry["diff"]["reason"] == "timeout", entry
    assert s.api.run(hook_id, json={})["status"] == "succeeded"  # the live hook goes on
