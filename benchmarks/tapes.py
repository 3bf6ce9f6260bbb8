"""``scripts/bench tapes``: what recording a run's tape costs a script
without host calls (issue 25; target: at most 5% of async throughput).

Two measurements:

- async end to end, on one stack (redis-server, a worker node with 2
  children, gunicorn with 2 workers): a hook whose script reads the clock
  (``Date.now``, ``new Date``, ``performance.now``) and randomness
  (``Math.random``, ``crypto.randomUUID``), so every event records and
  stores a tape, against a hook answering the same shape with constants (no
  tape). Short rounds of each, alternated back to back, so a slow spell of
  the shared machine falls on both. The difference also holds the reads
  themselves: an upper bound of the tape's cost.
- in process, CPU per run of ``ScriptRunner.run`` plus the job fields it
  writes (the tape packed): the same scripts with tapes as they are, and
  with the recorder replaced by a pass-through that keeps nothing (the
  runtime's own bookkeeping stays: it cannot be switched off).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.drain import drain_rate
from benchmarks.stack import Stack
from workers.queue import runner as runner_module
from workers.queue.runner import ScriptRunner
from workers.queue.specs import ScriptSpec
from workers.settings import Settings
from workers.store.jobs.records import EventRequest

__all__ = ["tapes_scenario"]

TARGET_DROP_PCT = 5.0
TAPED = """(async () => ({ headers: { "x-at": new Date().toISOString() },
  body: { at: Date.now(), took: performance.now(), id: crypto.randomUUID(),
          r: Math.random() } }))();"""
UNTAPED = """(async () => ({ headers: { "x-at": "2026-12-08T00:00:00.000Z" },
  body: { at: 1796688000000, took: 0.5, id: "0b1c7a2e-8e0c-4d6a-9a57-3f8c2b9d1e40",
          r: 0.25 } }))();"""
_REQUEST = EventRequest("POST", "/", None, {}, {}, "127.0.0.1", b"{}")


class _NoTape:
    """The recorder's place with nothing recorded: tapes switched off."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def handle(self, op: str, args: Any, body: bytes | None, deadline: float) -> Any:
        return self._inner.handle(op, args, body, deadline)

    def tape(self, runtime: Any) -> None:
        return None


def _run_us(script: str, taped: bool, runs: int) -> float:
    """CPU microseconds per run (and its job fields) of ``script``, warm."""
    settings = Settings(child_rss_mb=8192)
    run = ScriptRunner(settings)
    spec = ScriptSpec("bench-tapes", 1, script, {}, {}, 5000, 32, False)
    recorder = runner_module.TapeRecorder
    runner_module.TapeRecorder = recorder if taped else _NoTape  # type: ignore[misc]
    try:
        for _ in range(50):  # warm isolate, warm caches
            run.run(spec, _REQUEST, 0, lambda *a: None).fields(0.0, delivery=False)
        started = time.process_time()
        for _ in range(runs):
            run.run(spec, _REQUEST, 0, lambda *a: None).fields(0.0, delivery=False)
        return (time.process_time() - started) / runs * 1e6
    finally:
        runner_module.TapeRecorder = recorder  # type: ignore[misc]
        run.pool.clear()


def _in_process(runs: int, rounds: int) -> dict[str, float]:
    """Best round of each (script, tapes on/off), rounds alternated."""
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, script in (("taped", TAPED), ("untaped", UNTAPED)):
            for on in (True, False):
                key = f"{name}_{'on' if on else 'off'}"
                times.setdefault(key, []).append(_run_us(script, on, runs))
    return {key: min(values) for key, values in times.items()}


def tapes_scenario(quick: bool, events: int | None = None) -> dict:
    """``events``: per round (default 4000; ``--quick`` 1000)."""
    events = events or (1000 if quick else 4000)
    rounds = 3 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.api.put_hook("taped", script=TAPED)
            stack.api.put_hook("untaped", script=UNTAPED)
            warm = min(300, events)
            drain_rate(stack, "taped", b"{}", warm)
            drain_rate(stack, "untaped", b"{}", warm)
            taped, untaped = [], []
            for n in range(rounds):
                order = (("untaped", untaped), ("taped", taped))
                for hook, rates in order if n % 2 == 0 else order[::-1]:
                    rates.append(drain_rate(stack, hook, b"{}", events))
        finally:
            stack.close()
    without, with_ = statistics.median(untaped), statistics.median(taped)
    drop_pct = (without - with_) / without * 100
    micro = _in_process(max(100, events // 4), 3 if quick else 5)
    record_us = micro["taped_on"] - micro["taped_off"]
    print(f"\nasync end to end, {rounds} rounds of {events} events each, median events/s")
    for label, rate, rates in (("constants (no tape)", without, untaped),
                               ("clock and random (a tape each)", with_, taped)):  # fmt: skip
        print(f"  {label:<34} {rate:>10.1f}   rounds {[round(r) for r in rates]}")
    print(f"  difference: {drop_pct:+.1f}% (target <= {TARGET_DROP_PCT:.0f}%)")
    print("in process, CPU per run and its job fields, best round (us): tapes on / off")
    for name in ("untaped", "taped"):
        print(f"  {name:<10} {micro[f'{name}_on']:>8.1f} / {micro[f'{name}_off']:>8.1f}")
    print(
        f"  recording and packing a tape: {record_us:+.1f} us per run = "
        f"{record_us / (1e6 / without) * 100:+.2f}% of an event's time at {without:.0f} events/s"
    )
    return {
        "scenario": "tapes",
        "events_per_round": events,
        "rounds": rounds,
        "untaped_per_s": round(without, 1),
        "taped_per_s": round(with_, 1),
        "rounds_untaped": [round(r, 1) for r in untaped],
        "rounds_taped": [round(r, 1) for r in taped],
        "drop_pct": round(drop_pct, 2),
        "in_process_us": {key: round(value, 1) for key, value in micro.items()},
        "record_us_per_run": round(record_us, 1),
        "target_drop_pct": TARGET_DROP_PCT,
    }
