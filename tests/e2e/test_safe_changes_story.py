# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""Issue 25's "Done when", end to end on the real stack (gunicorn, a script
worker with one child, so its isolates stay warm, the shadow worker, a
callbacks worker, Redis, V8), with a local upstream that counts what it
receives and a callback receiver: a script that fetches, counts in KV and
answers with the time and a random id; its events recorded; a changed draft
tried on them says exactly which answers change and how (and the live
script tried on them changes none: time and random values come back byte
for byte); a draft that adds a fetch diverges, naming it; shadowing at 1.0
runs on every live event; promote, then rollback, switch what live events
run. Trying and shadowing send the upstream not one request, change no KV,
send no callback and add no job to the history."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

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
HOOK = "orders"
LIVE = """(async () => {
  const quote = await (await fetch("UP/data")).json();
  const unb64 = (s) => atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const n = Number(unb64((await secutils.kv.get("count")) ?? "MA")) + 1;
  await secutils.kv.set("count", btoa(String(n)).replace(/=+$/, ""));
  return { headers: { "content-type": "application/json", "x-at": new Date().toUTCString() },
           body: { n, quote, at: Date.now(), id: crypto.randomUUID(), lucky: Math.random() < 0.5 } };
})();"""


@dataclass
class Stack:
    api: Api
    redis: redis.Redis
    upstream: Upstream
    receiver: Receiver


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    server = RedisServer(tmp_path_factory.mktemp("story")).start()
    env = hooklet_env(server.url, egress_allowlist="127.0.0.1")
    workdir = server.workdir
    worker = Worker(env, workdir, name="live", concurrency=1).start()
    callbacks = Worker(env, workdir, name="callbacks", queues="callbacks", pool="threads",
                       concurrency=2).start()  # fmt: skip
    shadow = shadow_worker(env, workdir).start()
    web = Web(env, workdir).start()
    upstream, receiver = Upstream(), Receiver()
    yield Stack(Api(web.url), server.client(), upstream, receiver)
    receiver.close()
    upstream.close()
    for process in (web, shadow, callbacks, worker):
        process.stop()
    server.stop()


def call(api: Api, method: str, path: str, **kwargs) -> dict:
    response = api.http.request(
        method, f"{api.base}/api/{path}", headers=api.admin, timeout=120, **kwargs
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


def body(job: dict) -> dict:
    return json.loads(job["result"]["body"])


def kv_state(s: Stack) -> dict:
    return {key: s.redis.dump(key) for key in sorted(s.redis.keys("hooklet:kv:*"))}


def count(s: Stack) -> int:
    """The hook's KV counter, read as the API shows it."""
    value = call(s.api, "GET", f"hooks/{HOOK}/kv/count")["value"]
    return int(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def outside(s: Stack) -> tuple:
    """What the world saw: upstream requests, KV, callbacks, history."""
    history = call(s.api, "GET", f"hooks/{HOOK}/jobs")["jobs"]
    return (s.upstream.hits, kv_state(s), len(s.receiver.received),
            sorted(job["jobId"] for job in history))  # fmt: skip


def test_change_try_shadow_and_promote_a_script_with_nothing_leaving_the_sandbox(
    stack: Stack,
) -> None:
    s = stack
    live = LIVE.replace("UP", s.upstream.url)
    first = s.api.put_hook(HOOK, script=live, callbackUrl=s.receiver.url)
    # Yesterday's events: recorded with their tapes.
    events = [s.api.run(HOOK, json={"order": i}) for i in range(4)]
    assert [body(job)["n"] for job in events] == [1, 2, 3, 4], events
    wait_until(lambda: len(s.receiver.received) >= 4, what="the live events' callbacks")
    ids = [job["jobId"] for job in events]
    before = outside(s)
    assert before[0] == 4

    # The live script as a draft answers every event the same, byte for byte
    # (its header and body times, random id and coin included).
    call(s.api, "PUT", f"hooks/{HOOK}/draft", json={"script": live})
    same = call(s.api, "POST", f"hooks/{HOOK}/draft/try", json={"ids": ids})
    assert same["counts"] == {"same": 4}, same

    # A changed script: which answers change, and how.
    # (It would also store ten times the count: a write that leaked would show.)
    changed = live.replace("n, quote,", "n: n * 10, quote,").replace("String(n)", "String(n * 10)")
    changed = changed.replace(
        "lucky: Math.random() < 0.5",
        "lucky: Math.random() < 0.5, day: new Date().toISOString().slice(0, 10)",
    )
    call(s.api, "PUT", f"hooks/{HOOK}/draft", json={"script": changed})
    tried = call(s.api, "POST", f"hooks/{HOOK}/draft/try", json={"filter": {}, "limit": 10})
    assert tried["counts"] == {"differs": 4}, tried
    by_job = {job["jobId"]: job for job in tried["jobs"]}
    for event in events:
        stored = body(event)
        day = datetime.fromtimestamp(stored["at"] / 1000, UTC).strftime("%Y-%m-%d")
        assert by_job[event["jobId"]]["diff"] == {
            "body": {"json": True, "more": False, "changes": [
                {"path": "$.n", "stored": stored["n"], "draft": stored["n"] * 10},
                {"path": "$.day", "draft": day},  # the recorded clock's day
            ]},
        }  # fmt: skip

    # A draft that makes a call its events never made: diverged, named.
    adds = changed.replace(
        "const unb64", f'await fetch("{s.upstream.url}/echo", {{ method: "POST" }});\n  const unb64'
    )
    call(s.api, "PUT", f"hooks/{HOOK}/draft", json={"script": adds})
    diverged = call(s.api, "POST", f"hooks/{HOOK}/draft/try", json={"ids": ids[:1]})
    assert diverged["jobs"] == [{"jobId": ids[0], "result": "diverged", "step": 2,
                                 "call": f"fetch POST {s.upstream.url}/echo"}]  # fmt: skip
    assert outside(s) == before  # trying reached nothing

    # Shadow the changed draft on live traffic, every event.
    call(s.api, "PUT", f"hooks/{HOOK}/draft", json={"script": changed})
    shadowed = call(s.api, "PATCH", f"hooks/{HOOK}", json={"shadow": {"sample": 1.0}})
    more = [s.api.run(HOOK, json={"order": i}) for i in range(4, 7)]
    assert [body(job)["n"] for job in more] == [5, 6, 7]
    found = wait_until(
        lambda: (r := call(s.api, "GET", f"hooks/{HOOK}/draft/shadow")) and sum(r["counts"].values()) >= 3 and r,
        timeout_s=60, what="three shadow runs",
    )  # fmt: skip
    assert found["counts"]["differs"] == 3 and sum(found["counts"].values()) == 3, found
    assert sorted(r["jobId"] for r in found["recent"]) == sorted(j["jobId"] for j in more)
    wait_until(lambda: len(s.receiver.received) >= 7, what="the live events' callbacks")
    hits, _, callbacks, history = outside(s)
    assert hits == before[0] + 3  # the live runs' fetches, not one more
    assert count(s) == 7  # the live runs' writes alone (the draft's would be 10x)
    assert callbacks == 7 and len(history) == 7

    # Promote: live events (on the warm isolate's child) run the draft.
    promoted = call(s.api, "POST", f"hooks/{HOOK}/draft/promote")
    assert promoted["version"] > shadowed["version"] > first["version"]
    now = body(s.api.run(HOOK, json={}))
    assert now["n"] == 80 and "day" in now and count(s) == 80
    rolled = call(s.api, "POST", f"hooks/{HOOK}/rollback")
    assert rolled["version"] == promoted["version"] + 1  # a new number, never a repeat
    assert rolled["restoredVersion"] == shadowed["version"]
    back = body(s.api.run(HOOK, json={}))
    assert back["n"] == 81 and "day" not in back and count(s) == 81


def test_events_of_an_earlier_version_are_checked_with_that_version_s_settings(
    stack: Stack,
) -> None:
    """A job's answer merges its version's static response; the check that
    its own version gives it back runs that version as it was (its settings,
    not today's), so a changed static header is no `nondeterministic`."""
    s = stack
    hook_id = "headers"
    script = "({ body: { n: 1, at: Date.now() } })"
    s.api.put_hook(hook_id, script=script, response={"headers": {"x-team": "blue"}})
    event = s.api.run(hook_id, json={})
    assert event["result"]["headers"] == {"x-team": "blue"}, event
    call(s.api, "PATCH", f"hooks/{hook_id}", json={"response": {"headers": {"x-team": "red"}}})
    draft = {"script": script.replace("n: 1", "n: 2"), "response": {"headers": {"x-team": "red"}}}
    call(s.api, "PUT", f"hooks/{hook_id}/draft", json=draft)
    tried = call(s.api, "POST", f"hooks/{hook_id}/draft/try", json={"ids": [event["jobId"]]})
    assert tried["jobs"][0]["result"] == "differs", tried
    assert tried["jobs"][0]["diff"] == {
        "headers": {"x-team": {"stored": "blue", "draft": "red"}},
        "body": {
            "json": True,
            "more": False,
            "changes": [{"path": "$.n", "stored": 1, "draft": 2}],
        },
    }


def test_events_recorded_before_tapes_existed_get_the_draft_s_verdict(stack: Stack) -> None:
    """A job from before tapes has none: the draft's verdict stands (a new
    fetch diverged, as the docs say), not `nondeterministic` (its own version
    cannot reproduce an answer whose inputs were never recorded)."""
    s = stack
    hook_id = "before-tapes"
    script = LIVE.replace("UP", s.upstream.url)
    s.api.put_hook(hook_id, script=script)
    event = s.api.run(hook_id, json={})
    job_key = keys.job(event["jobId"])
    assert s.redis.hdel(job_key, "tape", "tapeZ") == 1  # as a job recorded before this release
    call(
        s.api,
        "PUT",
        f"hooks/{hook_id}/draft",
        json={"script": script.replace("n, quote,", "n: 0, quote,")},
    )
    tried = call(s.api, "POST", f"hooks/{hook_id}/draft/try", json={"ids": [event["jobId"]]})
    assert tried["jobs"] == [{"jobId": event["jobId"], "result": "diverged", "step": 1,
                              "call": f"fetch GET {s.upstream.url}/data"}]  # fmt: skip


def test_a_timer_that_beat_the_upstream_beats_it_in_a_try(stack: Stack) -> None:
    """Through the workers (the tape stored with the job, sent in the try
    run): a 20 ms timer beat a 2 s fetch live, and does again on the tape,
    which answers at once; the live script tried on its event is `same`."""
    s = stack
    hook_id = "race"
    script = f"""(async () => {{
      const first = await Promise.race([fetch("{s.upstream.url}/slow").then(() => "upstream"),
                                        new Promise((r) => setTimeout(() => r("timer"), 20))]);
      return {{ body: {{ first, at: Date.now() }} }};
    }})()"""
    s.api.put_hook(hook_id, script=script)
    event = s.api.run(hook_id, json={})
    assert body(event)["first"] == "timer", event
    call(s.api, "PUT", f"hooks/{hook_id}/draft", json={"script": script})
    tried = call(s.api, "POST", f"hooks/{hook_id}/draft/try", json={"ids": [event["jobId"]]})
    assert tried["counts"] == {"same": 1}, tried


def test_a_sync_hook_is_shadowed_too(stack: Stack) -> None:
    """Shadow runs follow a sync hook's answered events as an async hook's."""
    s = stack
    hook_id = "sync-shadow"
    script = LIVE.replace("UP", s.upstream.url)
    s.api.put_hook(hook_id, script=script, mode="sync")
    call(
        s.api,
        "PUT",
        f"hooks/{hook_id}/draft",
        json={"script": script.replace("n, quote,", "n: -n, quote,"), "mode": "sync"},
    )
    call(s.api, "PATCH", f"hooks/{hook_id}", json={"shadow": {"sample": 1.0}})
    hits = s.upstream.hits
    answers = [s.api.send(hook_id, json={}) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200] and [a.json()["n"] for a in answers] == [
        1,
        2,
    ]
    found = wait_until(
        lambda: (r := call(s.api, "GET", f"hooks/{hook_id}/draft/shadow")) and sum(r["counts"].values()) >= 2 and r,
        timeout_s=60, what="two shadow runs",
    )  # fmt: skip
    assert found["counts"]["differs"] == 2, found
    assert {entry["diff"]["body"]["changes"][0]["draft"] for entry in found["recent"]} == {-1, -2}
    assert s.upstream.hits == hits + 2
