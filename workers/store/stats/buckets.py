"""Rolling time series for the console's charts: one-minute buckets kept for
24 hours in Redis, bounded by key expiry.

Each minute has two hashes (keys from workers/store/keys/stats.py): per-hook counters,
fields ``hook|kind|label``, and fleet counters and gauges, fields
``kind|label``. The intake and the worker children build the operations
here and add them to their process's ``StatsBuffer``
(workers/store/stats/buffer.py), which merges them and writes them in one
Redis call about once a second (``HOOKLET_STATS_FLUSH_S``), not in the job
store's steps; the reading side is workers/store/stats/series.py.

Kinds: ``ev`` events received by outcome, ``jf`` jobs finished by status,
``tr`` terminations by reason, ``dh`` script duration histogram (label: the
bucket's index in ``DURATION_BUCKETS_MS``), ``dmax`` longest run (ms), and
fleet-only gauges ``rss``/``iso`` (per worker child: RSS bytes and warm
isolates at its last job in the minute) and ``q`` (peak depth of the scripts
queue, sampled at each flush of a web process that accepted events: the
largest length seen by those flushes in the minute).
"""

from __future__ import annotations

import bisect
import time
from typing import Any

from workers.store import keys

__all__ = [
    "BUCKET_S",
    "KEEP_S",
    "DURATION_BUCKETS_MS",
    "StatsWrite",
    "minute",
    "job_write",
    "event_write",
]

BUCKET_S = 60
KEEP_S = 24 * 3600
# A bucket hash lives a little longer than the window it serves.
TTL_S = KEEP_S + 2 * BUCKET_S
# Upper bounds of the duration histogram in ms (the last is +Inf): fine where
# scripts usually run, around secutils' 5 ms red zone.
DURATION_BUCKETS_MS = (
    0.5,
    1.0,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    25.0,
    50.0,
    100.0,
    250.0,
    500.0,
    1000.0,
    2500.0,
    5000.0,
    10000.0,
    30000.0,
    60000.0,
    float("inf"),
)
FLEET = "*"  # the per-hook label for a test run with no hook


def minute(ts: float | None = None) -> int:
    """The bucket number (epoch minute) of ``ts`` (default: now)."""
    return int((time.time() if ts is None else ts) // BUCKET_S)


class StatsWrite:
    """The stats keys and operations one Lua call applies: ``keys`` (hook
    hash, fleet hash) and ``ops``, a JSON list of ``[target, op, field,
    value]`` with target ``h`` (hook hash) or ``f`` (fleet hash) and op ``i``
    (add), ``x`` (keep the larger), ``s`` (set) or ``q`` (keep the larger of
    the field and the length, at the flush, of the queue whose key is the
    value)."""

    __slots__ = ("keys", "ops")

    def __init__(self, ts: float | None = None) -> None:
        m = minute(ts)
        self.keys = (keys.stats_hooks(m), keys.stats_fleet(m))
        self.ops: list[list[Any]] = []

    def hook(self, hook: str, op: str, kind: str, label: str, value: Any = 1) -> StatsWrite:
        self.ops.append(["h", op, f"{hook}|{kind}|{label}", value])
        return self

    def fleet(self, op: str, kind: str, label: str, value: Any = 1) -> StatsWrite:
        self.ops.append(["f", op, f"{kind}|{label}", value])
        return self

    def both(self, hook: str, op: str, kind: str, label: str, value: Any = 1) -> StatsWrite:
        return self.hook(hook, op, kind, label, value).fleet(op, kind, label, value)


def duration_bucket(duration_ms: float) -> int:
    return bisect.bisect_left(DURATION_BUCKETS_MS, duration_ms)


def job_write(
    hook: str,
    status: str,
    reason: str | None,
    duration_ms: float | None,
    child: tuple[str, int, int] | None = None,
    ts: float | None = None,
) -> StatsWrite:
    """What a finished job adds: its status, reason, duration (None when no
    script ran) and the reporting child's (name, RSS bytes, warm isolates),
    in the bucket of ``ts`` (default: now)."""
    write = StatsWrite(ts).both(hook or FLEET, "i", "jf", status)
    if reason is not None:
        write.both(hook or FLEET, "i", "tr", reason)
    if duration_ms is not None:
        write.both(hook or FLEET, "i", "dh", str(duration_bucket(duration_ms)))
        write.both(hook or FLEET, "x", "dmax", "ms", round(duration_ms, 3))
    if child is not None:
        name, rss_bytes, isolates = child
        # The child's last report in the minute (a set costs less than a max).
        write.fleet("s", "rss", name, rss_bytes).fleet("s", "iso", name, isolates)
    return write


def event_write(
    hook: str, outcome: str, queue_key: str | None = None, ts: float | None = None
) -> StatsWrite:
    """What an event at the intake adds; with ``queue_key`` (the list its
    token joined), that queue's depth, sampled when the buffer flushes."""
    write = StatsWrite(ts).both(hook, "i", "ev", outcome)
    if queue_key:
        write.fleet("q", "q", "scripts", queue_key)
    return write
