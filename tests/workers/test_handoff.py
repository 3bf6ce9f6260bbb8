"""Results come back from V8's thread on a Python thread state kept for the
isolate's life and given back when it closes (workers/sandbox/handoff.py):
real isolates, the interpreter's own list of thread states."""

from __future__ import annotations

import ctypes
import threading
import time

import pytest

from tests.support.stack import wait_until
from workers.sandbox.contract import build_context
from workers.sandbox.isolate import Isolate, RunLimits, run_script
from workers.store.jobs.records import EventRequest, FailureReason

REQUEST = EventRequest("POST", "/x", None, {}, {}, "127.0.0.1", b"{}")
LIMITS = RunLimits(timeout_ms=2000, heap_mb=16)

_api = ctypes.pythonapi
_api.PyInterpreterState_Get.restype = ctypes.c_void_p
_api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
_api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
_api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
_api.PyThreadState_Next.restype = ctypes.c_void_p


def thread_states() -> int:
    """How many Python thread states this interpreter holds that belong to no
    thread Python started (V8's threads'), left behind or kept."""
    count, state = 0, _api.PyInterpreterState_ThreadHead(_api.PyInterpreterState_Get())
    while state:
        count += 1
        state = _api.PyThreadState_Next(state)
    return count - threading.active_count()


def steady() -> int:
    """``thread_states()`` once two looks 0.1 s apart agree."""
    last = thread_states()
    while True:
        time.sleep(0.1)
        now = thread_states()
        if now == last:
            return now
        last = now


def settles_at(expected: int) -> None:
    """Other tests' threads may still be ending: a state left behind stays."""
    wait_until(lambda: thread_states() == expected, timeout_s=5, what="thread states")


def test_many_runs_reuse_one_thread_state_and_closing_gives_it_back() -> None:
    before = steady()
    isolate = Isolate(16)
    try:
        for n in range(30):
            result = run_script(
                isolate,
                f"(async () => ({{ body: 'run {n}' }}))();",
                build_context(REQUEST, {}),
                LIMITS,
            )
            assert result.body == f"run {n}".encode()
        # V8's thread delivered ~60 results on one state, kept, not one each.
        settles_at(before + 1)
    finally:
        isolate.close()
    settles_at(before)


@pytest.mark.parametrize(
    ("source", "reason", "timeout_ms"),
    [
        ("while (true) {}", FailureReason.TIMEOUT, 200),
        (
            "(() => { const a = []; while (true) a.push(new Array(1e5).fill(1)); })()",
            FailureReason.MEMORY,
            5000,
        ),
    ],
)
def test_isolates_retired_by_a_limit_leave_no_thread_state_behind(
    source: str, reason: FailureReason, timeout_ms: int
) -> None:
    before = steady()
    for _ in range(5):
        isolate = Isolate(16)
        result = run_script(
            isolate,
            source,
            build_context(REQUEST, {}),
            RunLimits(timeout_ms=timeout_ms, heap_mb=16),
        )
        assert result.reason is reason
        isolate.close()
    settles_at(before)


def test_an_interrupt_from_another_thread_keeps_no_state_on_it() -> None:
    before = steady()
    isolate = Isolate(16)
    isolate.eval("1", time.monotonic() + 5)
    isolate.interrupt(FailureReason.MEMORY, "over the RSS cap")  # from this thread
    isolate.close()
    settles_at(before)
