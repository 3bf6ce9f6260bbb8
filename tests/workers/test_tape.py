# ruff: noqa: E501 - the scripts under test are JavaScript in strings
"""A run's tape (issue 25 item 1) in real V8 with a real redis-server and a
local upstream: a live run records host call answers, clock and randomness;
playing the tape back reproduces the result byte for byte without reaching
the upstream or KV; a call the tape lacks is named; a tape over the cap is
not kept and the job says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.stack import RedisServer
from tests.support.upstream import Upstream
from workers.queue.runner import ScriptRunner
from workers.queue.specs import ScriptSpec
from workers.sandbox.tape import decode
from workers.settings import Settings
from workers.store.jobs.records import EventRequest, JobStatus

REQUEST = EventRequest("POST", "/t", None, {}, {}, "127.0.0.1:5000", b'{"n": 2}')
SCRIPT = """(async () => {
  const r = await fetch(UP + "/data?k=1");
  const data = await r.json();
  const seen = await secutils.kv.get("count");
  const n = seen ? seen.length / 4 + 1 : 1;
  await secutils.kv.set("count", "QUFB".repeat(n));
  const bytes = new Uint8Array(4); crypto.getRandomValues(bytes);
  await new Promise((done) => setTimeout(done, 3));
  return { statusCode: 201, headers: { "x-at": new Date().toISOString() },
           body: { data, n, now: Date.now(), perf: performance.now(), r: Math.random(),
                   id: crypto.randomUUID(), bytes: Array.from(bytes), when: Date() } };
})()"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    server = RedisServer(Path(tmp_path_factory.mktemp("tape"))).start()
    yield server.client()
    server.stop()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def runner(client: redis.Redis, **settings: object) -> ScriptRunner:
    # The test process is no worker child: its memory after the tests run
    # before these must not trip a child's RSS cap (as tests/conftest.py).
    defaults = {"egress_allowlist": ("127.0.0.1",), "child_rss_mb": 8192}
    return ScriptRunner(Settings(**{**defaults, **settings}), client)


def spec(source: str, tape: dict | None = None) -> ScriptSpec:
    return ScriptSpec("tape-hook", 1, source, {}, {}, 5000, 10, tape is not None, tape=tape)


def kv_dump(client: redis.Redis) -> dict:
    return {k: client.dump(k) for k in client.keys("hooklet:kv:*")}


def test_replay_reproduces_the_result_without_reaching_anything(
    client: redis.Redis, upstream: Upstream
) -> None:
    script = f"const UP = {upstream.url!r};\n" + SCRIPT.replace("(async", "return (async", 1)
    run = runner(client)
    live = run.run(spec(script), REQUEST, 0, lambda *a: None)
    assert live.status is JobStatus.SUCCEEDED, live.error
    assert live.tape is not None and live.tape_skipped is None
    tape = decode(live.tape)
    assert [c["key"] for c in tape["calls"]] == [
        f"fetch GET {upstream.url}/data?k=1",
        "kv.get count",
        "kv.set count",
    ]
    hits, kv = upstream.hits, kv_dump(client)
    again = run.run(spec(script, tape), REQUEST, 0, lambda *a: None)
    assert again.status is JobStatus.SUCCEEDED, again.error
    assert again.result == live.result  # status, headers (time), body (time, random) byte for byte
    assert again.replay == {"diverged": None, "steps": 3}
    assert again.tape is None  # a try run records nothing
    assert upstream.hits == hits and kv_dump(client) == kv


def test_a_call_the_tape_lacks_is_named(client: redis.Redis, upstream: Upstream) -> None:
    script = f"const UP = {upstream.url!r};\n" + SCRIPT.replace("(async", "return (async", 1)
    run = runner(client)
    live = run.run(spec(script), REQUEST, 0, lambda *a: None)
    draft = script.replace(
        'await secutils.kv.set("count"',
        'await fetch(UP + "/echo", {method: "POST"}); await secutils.kv.set("count"',
    )
    hits = upstream.hits
    tried = run.run(spec(draft, decode(live.tape)), REQUEST, 0, lambda *a: None)
    assert tried.replay["diverged"] == {"step": 3, "call": f"fetch POST {upstream.url}/echo"}
    assert upstream.hits == hits


def test_a_script_that_reads_nothing_from_outside_has_no_tape(client: redis.Redis) -> None:
    live = runner(client).run(spec("({ body: 'ok' })"), REQUEST, 0, lambda *a: None)
    assert live.tape is None and live.tape_skipped is None
    assert not {"tape", "tapeZ"} & set(live.fields(0.0, delivery=False))


def test_a_tape_over_the_cap_is_not_kept(client: redis.Redis, upstream: Upstream) -> None:
    script = f"""(async () => {{
      const parts = [];
      for (let i = 0; i < 6; i++) parts.push(await (await fetch("{upstream.url}/echo", {{method: "POST", body: crypto.randomUUID().repeat(200) + i}})).text());
      return {{ body: String(parts.length) }};
    }})()"""
    live = runner(client, tape_max_bytes=1024).run(spec(script), REQUEST, 0, lambda *a: None)
    assert live.status is JobStatus.SUCCEEDED, live.error
    assert live.tape is None and "HOOKLET_TAPE_MAX_BYTES (1024 bytes)" in live.tape_skipped, (
        live.tape_skipped
    )
    fields = live.fields(0.0, delivery=False)
    assert fields["replayable"] == 0 and fields["tapeSkipped"] == live.tape_skipped


def test_the_clock_read_too_often_is_not_replayable(client: redis.Redis) -> None:
    live = runner(client).run(
        spec(
            "{ let x = 0; for (let i = 0; i < 5000; i++) x += Date.now(); ({ body: String(x > 0) }) }"
        ),
        REQUEST,
        0,
        lambda *a: None,
    )
    assert live.tape is None and "4096" in live.tape_skipped


def test_a_warm_isolate_replays_as_a_fresh_one(client: redis.Redis, upstream: Upstream) -> None:
    """The URL polyfill is compiled on a fresh isolate's first fetch and reads
    Math.random then; that read is not the script's and must not shift its
    values (found by the stack test: warm live runs did not replay)."""
    script = f"(async () => {{ await fetch('{upstream.url}/data'); return {{ body: {{ r: Math.random(), t: Date.now() }} }}; }})()"
    run = runner(client)
    for _ in range(3):  # the first run compiles the polyfill; the others are warm
        live = run.run(spec(script), REQUEST, 0, lambda *a: None)
        again = run.run(spec(script, decode(live.tape)), REQUEST, 0, lambda *a: None)
        assert again.result == live.result


def live_then_replay(client: redis.Redis, script: str, timeout_ms: int = 5000) -> tuple:
    """A live run on a warm isolate (its second run) and its tape played back."""
    run = runner(client)
    live_spec = ScriptSpec("tape-hook", 1, script, {}, {}, timeout_ms, 10, False)
    run.run(live_spec, REQUEST, 0, lambda *a: None)
    live = run.run(live_spec, REQUEST, 0, lambda *a: None)
    tape = decode(live.tape) if live.tape else {"v": 1, "calls": []}
    replay_spec = ScriptSpec("tape-hook", 1, script, {}, {}, timeout_ms, 10, True, tape=tape)
    return live, run.run(replay_spec, REQUEST, 0, lambda *a: None)


def test_intl_formats_of_now_replay(client: redis.Redis) -> None:
    """Intl.DateTimeFormat's format() and formatToParts() without a date read
    V8's own clock, not Date.now: they read the tape's now."""
    live, again = live_then_replay(
        client,
        """({ body: [new Intl.DateTimeFormat("en", { second: "numeric", fractionalSecondDigits: 3 }).format(),
                     new Intl.DateTimeFormat("en", { fractionalSecondDigits: 3, second: "numeric" }).formatToParts()] })""",
    )
    assert live.status is JobStatus.SUCCEEDED, live.error
    assert again.result == live.result


def test_a_timer_that_beat_a_fetch_beats_it_in_the_replay(
    client: redis.Redis, upstream: Upstream
) -> None:
    """Live, a 20 ms timer wins the race against a 0.5 s upstream; the tape
    answers at once, so the replay keeps the live order of events."""
    live, again = live_then_replay(
        client,
        f"""(async () => {{
          const first = await Promise.race([fetch("{upstream.url}/slow?s=0.5").then(() => "fetch"),
                                            new Promise((r) => setTimeout(() => r("timer"), 20))]);
          return {{ body: {{ first, id: setTimeout(() => {{}}, 1) }} }};
        }})()""",
    )
    assert live.status is JobStatus.SUCCEEDED, live.error
    assert b'"first":"timer"' in live.result["body"]
    assert again.result == live.result  # the timer ids too: counted per run


def test_a_run_out_of_time_waiting_replays_as_timed_out(
    client: redis.Redis, upstream: Upstream
) -> None:
    """A live run whose time ran out while a fetch was in flight (or while a
    timer was pending) was a timeout; its replay is the same timeout, not the
    fetch's error (the tape's answer) or the timer firing."""
    for wait in (
        f'await fetch("{upstream.url}/slow")',
        "await new Promise((r) => setTimeout(r, 5000))",
    ):
        script = f'(async () => {{ await fetch("{upstream.url}/data"); const t = Date.now(); {wait}; return {{ body: String(t) }}; }})()'
        live, again = live_then_replay(client, script, timeout_ms=500)
        assert (live.status, live.reason, live.error) == (
            JobStatus.FAILED,
            "timeout",
            "script timed out",
        ), live.error
        assert (again.status, again.reason, again.error) == (live.status, live.reason, live.error)
        assert again.replay["diverged"] is None


def test_deno_core_timers_replay_as_set_timeout(client: redis.Redis, upstream: Upstream) -> None:
    """secutils' Deno.core.createTimer is taped as setTimeout is."""
    live, again = live_then_replay(
        client,
        f"""(async () => {{
          const first = await Promise.race([fetch("{upstream.url}/slow?s=0.5").then(() => "fetch"),
                                            new Promise((r) => Deno.core.createTimer(() => r("timer"), 20))]);
          return {{ body: first }};
        }})()""",
    )
    assert live.result["body"] == b"timer", live.error
    assert again.result == live.result


def test_temporal_now_replays(client: redis.Redis, upstream: Upstream) -> None:
    """Temporal.Now reads V8's own clock, not Date.now: it reads the tape's."""
    live, again = live_then_replay(
        client,
        f"""(async () => {{
          const before = Temporal.Now.instant();
          await fetch("{upstream.url}/data");
          return {{ body: [String(before), String(Temporal.Now.zonedDateTimeISO("UTC")),
                           String(Temporal.Now.plainDateTimeISO()), String(Temporal.Now.plainDateISO()),
                           String(Temporal.Now.plainTimeISO()), String(Temporal.Now.instant().since(before))] }};
        }})()""",
    )
    assert live.status is JobStatus.SUCCEEDED, live.error
    assert again.result == live.result


def test_the_run_s_traceparent_replays(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tracing on, context.traceparent is the run's own span: a replay
    (another run, another span) gives the script the live run's, or none
    where the live run had none."""
    from workers.queue import runner as runner_module

    spans = iter(["00-" + "a" * 32 + "-" + "1" * 16 + "-01", "00-" + "b" * 32 + "-" + "2" * 16 + "-01", None,
                  "00-" + "c" * 32 + "-" + "3" * 16 + "-01"])  # fmt: skip
    monkeypatch.setattr(runner_module.tracing, "script_traceparent", lambda: next(spans))
    run = runner(client)
    script = "({ headers: { traceparent: String(context.traceparent) } })"
    for _ in range(2):  # traced live, untraced live; each replayed while traced
        live = run.run(spec(script), REQUEST, 0, lambda *a: None)
        tape = decode(live.tape) if live.tape else {"v": 1, "calls": []}
        again = run.run(spec(script, tape), REQUEST, 0, lambda *a: None)
        assert again.result == live.result, (live.result, again.result)
