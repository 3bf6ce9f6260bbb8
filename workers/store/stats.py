"""Rolling time series for the console's charts: one-minute buckets kept for
24 hours in Redis, bounded by key expiry.

Each minute has two hashes (keys from workers/store/keys.py): per-hook counters,
fields ``hook|kind|label``, and fleet counters and gauges, fields
``kind|label``. They are written in the same atomic Lua calls that create and
finish jobs (workers/store/job_scripts.py: ``apply_stats``), from the operations
built here; the reading side is workers/store/stats_series.py.

Kinds: ``ev`` events received by outcome, ``jf`` jobs finished by status,
``tr`` terminations by reason, ``dh`` script duration histogram (label: the
bucket's index in ``DURATION_BUCKETS_MS``), ``dmax`` longest run (ms), and
fleet-only gauges ``rss``/``iso`` (per worker child: RSS bytes and warm
isolates at its last job in the minute) and ``q`` (peak depth of the scripts
queue seen at the intake).
"""

from __future__ import annotations

import bisect
import time
from typing import Any

import orjson

from workers.store import keys

__all__ = [
    "BUCKET_S",
    "KEEP_S",
    "DURATION_BUCKETS_MS",
    "StatsWrite",
    "minute",
    "job_write",
    "event_write",
    "record_event",
    "APPLY_STATS",
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


# Applies the console's stats operations (workers/store/stats.py:
# ``StatsWrite``) to this minute's hook and fleet hashes. Called with pcall,
# after the writes that matter: a bad operation never cuts a job's own writes
# short.
APPLY_STATS = """
local function apply_stats(hook_stats, fleet_stats, ops, ttl, queue)
  if hook_stats == '' or ops == '' then return end
  for _, op in ipairs(cjson.decode(ops)) do
    local key = op[1] == 'h' and hook_stats or fleet_stats
    local kind, field, value = op[2], op[3], op[4]
    if kind == 'i' then
      -- Every call starts with an add to each hash: a field's first add
      -- (1) is when a new minute's hash gets its expiry.
      if redis.call('HINCRBY', key, field, value) == tonumber(value) then
        redis.call('EXPIRE', key, ttl)
      end
    elseif kind == 's' then
      redis.call('HSET', key, field, value)
    else
      if kind == 'q' then value = queue ~= '' and redis.call('LLEN', queue) or 0 end
      local old = tonumber(redis.call('HGET', key, field))
      if old == nil or tonumber(value) > old then redis.call('HSET', key, field, value) end
    end
  end
end
"""


def minute(ts: float | None = None) -> int:
    """The bucket number (epoch minute) of ``ts`` (default: now)."""
    return int((time.time() if ts is None else ts) // BUCKET_S)


class StatsWrite:
    """The stats keys and operations one Lua call applies: ``keys`` (hook
    hash, fleet hash) and ``ops``, a JSON list of ``[target, op, field,
    value]`` with target ``h`` (hook hash) or ``f`` (fleet hash) and op ``i``
    (add), ``x`` (keep the larger), ``s`` (set) or ``q`` (keep the larger of
    the field and the queue's length)."""

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

    def encoded(self) -> bytes:
        return orjson.dumps(self.ops)


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
    hook: str, outcome: str, queue_depth: bool = True, ts: float | None = None
) -> StatsWrite:
    """What an event at the intake adds; with ``queue_depth``, the queue's
    length after it (the Lua call knows the queue)."""
    write = StatsWrite(ts).both(hook, "i", "ev", outcome)
    if queue_depth:
        write.fleet("q", "q", "scripts", 0)
    return write


def record_event(client: Any, hook: str, outcome: str) -> None:
    """Count an event the intake refused (no Lua call is made for those):
    queued on a pipeline or sent on a client."""
    hooks_key, fleet_key = StatsWrite().keys
    client.hincrby(hooks_key, f"{hook}|ev|{outcome}", 1)
    client.hincrby(fleet_key, f"ev|{outcome}", 1)
    client.expire(hooks_key, TTL_S)
    client.expire(fleet_key, TTL_S)
