"""``scripts/bench quotas``: what a project's quotas cost per event (issue 23).

One stack (redis-server, a worker node with 2 children, gunicorn with 2
workers). Two trivial async hooks: one in ``default`` (no quotas), one in a
project with every quota set high enough never to refuse, so each of its
events is checked against the project's ``eventsPerMinute`` bucket and
``storedBytes`` flag inside CREATE (its quotas read from the per-process
cache), each take reads its project's ``maxConcurrent`` and counts the job,
and the reaper estimates its ``storedBytes``. Short rounds of
each, alternated back to back, so a slow spell of the shared machine falls
on both. Target: with quotas at most 3% below without.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.drain import drain_rate
from benchmarks.hooks import TRIVIAL
from benchmarks.stack import Stack
from stackkit import RedisServer
from workers.store import keys
from workers.store.jobs.records import EventRequest, new_job_id
from workers.store.jobs.store import Conditions, JobStore, Lane

__all__ = ["quotas_scenario"]

TARGET_DROP_PCT = 3.0
_HIGH = {
    "eventsPerMinute": 10**9,
    "kvBytes": 10**12,
    "storedBytes": 10**12,
    "maxConcurrent": 10**6,
    "maxHooks": 100,
}


def _create_us(workdir: Path, batches: int, per_batch: int = 500) -> tuple[float, float]:
    """Microseconds per CREATE call without and with the project's rate
    condition, in alternated batches on a Redis of its own (no worker)."""
    server = RedisServer(workdir).start()
    try:
        store = JobStore(server.client(), 3600)
        request = EventRequest("POST", "/", None, {}, {}, "127.0.0.1", b"{}")
        rate = Conditions(rate=(keys.project_rate("bench"), 10**9))
        times: dict[bool, list[float]] = {False: [], True: []}
        for n in range(batches * 2):
            with_rate = n % 2 == 1
            started = time.perf_counter()
            for _ in range(per_batch):
                store.create(
                    new_job_id(), "micro", 1, request, 0, ("bench-queue", b"m"),
                    conditions=rate if with_rate else Conditions(), lane=Lane("micro"),
                )  # fmt: skip
            times[with_rate].append((time.perf_counter() - started) / per_batch * 1e6)
        return statistics.median(times[False]), statistics.median(times[True])
    finally:
        server.stop()


def quotas_scenario(quick: bool) -> dict:
    events, rounds = (1000, 3) if quick else (4000, 5)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            api = stack.api
            body = {"id": "bench", "name": "bench", "quotas": _HIGH}
            answer = requests.post(f"{api.base}/api/projects", json=body, headers=api.admin)
            assert answer.status_code == 201, answer.text
            api.put_hook("plain", script=TRIVIAL)
            api.put_hook("quota", script=TRIVIAL, project="bench")
            drain_rate(stack, "plain", b"{}", 300)  # warm-up
            drain_rate(stack, "quota", b"{}", 300)
            plain, quota = [], []
            for n in range(rounds):
                # Alternate which goes first, so neither always follows the other.
                order = (("plain", plain), ("quota", quota))
                for hook, rates in order if n % 2 == 0 else order[::-1]:
                    rates.append(drain_rate(stack, hook, b"{}", events))
        finally:
            stack.close()
        create_plain_us, create_rate_us = _create_us(Path(tmp), 3 if quick else 6)
    without, with_ = statistics.median(plain), statistics.median(quota)
    drop_pct = (without - with_) / without * 100
    print(f"\nasync end to end, {rounds} rounds of {events} events each, median events/s")
    print(f"  {'no quotas (default)':<28} {without:>10.1f}   rounds {[round(r) for r in plain]}")
    print(f"  {'project with quotas':<28} {with_:>10.1f}   rounds {[round(r) for r in quota]}")
    print(f"  end-to-end difference: {drop_pct:+.1f}% (target <= {TARGET_DROP_PCT:.0f}%)")
    extra_us = create_rate_us - create_plain_us
    share_pct = extra_us / (1e6 / without) * 100
    print(
        f"  one CREATE call: {create_plain_us:.1f} us, with the rate bucket "
        f"{create_rate_us:.1f} us: {extra_us:+.1f} us per event = {share_pct:+.2f}% of an "
        f"event's time at {without:.0f} events/s"
    )
    return {
        "scenario": "quotas",
        "events_per_round": events,
        "rounds": rounds,
        "without_quotas_per_s": round(without, 1),
        "with_quotas_per_s": round(with_, 1),
        "rounds_without": [round(r, 1) for r in plain],
        "rounds_with": [round(r, 1) for r in quota],
        "drop_pct": round(drop_pct, 2),
        "create_us": round(create_plain_us, 1),
        "create_with_rate_us": round(create_rate_us, 1),
        "rate_check_share_pct": round(share_pct, 3),
        "target_drop_pct": TARGET_DROP_PCT,
    }
