"""Scripts that throw, loop or eat memory fail with the right reason; the
worker node keeps serving and the next job on it succeeds."""

from __future__ import annotations

import pytest

from tests.support.stack import Api, Worker

pytestmark = pytest.mark.stack

GOOD = "({ body: 'fine' })"
LIMITS = {"timeoutMs": 500, "heapMb": 10}


def assert_next_job_succeeds(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id + "-good", script=GOOD)
    job = api.run(hook_id + "-good")
    assert job["status"] == "succeeded" and job["result"]["body"] == "fine"


@pytest.mark.parametrize(
    ("script", "reason", "text"),
    [
        ('throw new Error("bad input")', "error", "bad input"),
        ("(async () => { await null; undefinedFunction(); })()", "error", "ReferenceError"),
        ("while (true) {}", "timeout", "timed out"),
        ("(async () => { await null; for (;;) {} })()", "timeout", "timed out"),
        ("Promise.resolve().then(() => { for (;;) {} }); 1", "timeout", "timed out"),
        ("(function tick() { setTimeout(tick, 0); })(); new Promise(() => {})", "timeout", ""),
        ("const a = []; while (true) a.push({ n: a.length, s: 'x' + a.length });", "memory", ""),
        ("let s = 'ab'; while (true) { s = s + s; s.charCodeAt(s.length - 1); }", "memory", ""),
        # A stack overflow is a thrown RangeError (a script can throw the same
        # text): "memory" is only for V8's heap limit or the RSS cap (issue 13 #12).
        ("function f(n) { return f(n + 1) + 1; } f(0)", "error", "call stack"),
    ],
    ids=[
        "throw",
        "async-throw",
        "loop",
        "loop-after-await",
        "loop-in-promise-callback",
        "timer-chain",
        "heap-array",
        "string-doubling",
        "deep-recursion",
    ],
)
def test_hostile_script_fails_then_worker_serves(
    fault_api: Api, fault_worker: Worker, hook_id: str, script: str, reason: str, text: str
) -> None:
    fault_api.put_hook(hook_id, script=script, limits=LIMITS)
    job = fault_api.run(hook_id, timeout_s=20)
    assert job["status"] == "failed", job
    assert job["reason"] == reason, job
    assert text in (job["error"] or "")
    if reason == "timeout":
        assert job["durationMs"] < LIMITS["timeoutMs"] + 1500
    assert fault_worker.proc.poll() is None, "the worker node went down"
    assert_next_job_succeeds(fault_api, hook_id)
