"""Reading the one-minute stats buckets (workers/store/stats/buckets.py) back as time
series for charts, and as per-hook summaries for the console's hook list."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import orjson
import redis

from workers import errors
from workers.store import keys
from workers.store.jobs.records import FailureReason, JobStatus
from workers.store.stats.buckets import BUCKET_S, DURATION_BUCKETS_MS, KEEP_S, minute

__all__ = ["series", "quantile", "Step"]

_STATUSES = [JobStatus.SUCCEEDED.value, JobStatus.FAILED.value]
_REASONS = [r.value for r in FailureReason]


def _outcomes() -> list[str]:
    """Every outcome an event can have at the intake: accepted, or the code
    of the error that refused it."""
    codes = {"accepted", "duplicate"}
    stack = [errors.HookletError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    return sorted(codes - {"error"})


def _hook_fields(hook: str) -> list[str]:
    return [
        *(f"{hook}|ev|{o}" for o in _outcomes()),
        *(f"{hook}|jf|{s}" for s in _STATUSES),
        *(f"{hook}|tr|{r}" for r in _REASONS),
        *(f"{hook}|dh|{i}" for i in range(len(DURATION_BUCKETS_MS))),
        f"{hook}|dmax|ms",
    ]


def quantile(counts: list[float], q: float, longest_ms: float | None) -> float | None:
    """The ``q`` quantile of a duration histogram (counts per bucket of
    ``DURATION_BUCKETS_MS``), interpolated within its bucket, at most the
    longest run seen."""
    total = sum(counts)
    if total <= 0:
        return None
    target, seen = q * total, 0.0
    for i, n in enumerate(counts):
        if n and seen + n >= target:
            lower = DURATION_BUCKETS_MS[i - 1] if i else 0.0
            upper = DURATION_BUCKETS_MS[i]
            if math.isinf(upper):
                upper = longest_ms if longest_ms is not None else lower
            value = lower + (upper - lower) * (target - seen) / n
            return round(min(value, longest_ms) if longest_ms is not None else value, 3)
        seen += n
    return longest_ms


class Step:
    """Accumulates the buckets of one step (several minutes)."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.hist = [0.0] * len(DURATION_BUCKETS_MS)
        self.longest: float | None = None
        self.gauges: dict[str, dict[str, float]] = defaultdict(dict)

    def add(self, kind: str, label: str, value: float) -> None:
        if kind in ("ev", "jf", "tr"):
            self.counts[kind][label] += value
        elif kind == "dh":
            self.hist[int(label)] += value
        elif kind == "dmax":
            self.longest = max(self.longest or 0.0, value)
        elif kind in ("rss", "iso", "q"):
            old = self.gauges[kind].get(label)
            self.gauges[kind][label] = value if old is None else max(old, value)

    def dumps(self) -> bytes:
        return orjson.dumps([self.counts, self.hist, self.longest, self.gauges])

    @classmethod
    def loads(cls, raw: bytes) -> Step:
        step = cls()
        counts, step.hist, step.longest, gauges = orjson.loads(raw)
        for kind, labels in counts.items():
            step.counts[kind].update(labels)
        step.gauges.update(gauges)
        return step


def _window(range_s: int, step_s: int, now: float | None) -> tuple[list[int], int]:
    range_s = max(BUCKET_S, min(int(range_s), KEEP_S))
    per_step = max(1, int(step_s) // BUCKET_S)
    last = minute(now)
    first = last - range_s // BUCKET_S + 1
    first -= (first - last - 1) % per_step  # whole steps, ending at ``last``
    return list(range(first, last + 1)), per_step


def series(
    client: redis.Redis,
    hook: str | None = None,
    range_s: int = 3600,
    step_s: int = BUCKET_S,
    now: float | None = None,
) -> dict[str, Any]:
    """Time series of one hook, or of the fleet (``hook`` None), over the last
    ``range_s`` seconds in steps of ``step_s`` (whole minutes)."""
    minutes, per_step = _window(range_s, step_s, now)
    firsts = minutes[::per_step]
    steps: list[Step | None] = [None] * len(firsts)
    # Past minutes never change, so a finished step is summed once and kept
    # (a minute of slack for clocks); only the rest is read minute by minute.
    finished = [i for i, f in enumerate(firsts) if f + per_step - 1 < minute(now) - 1]
    scope = hook or "*"
    if per_step > 1 and finished:
        cached = client.mget([keys.stats_step_cache(scope, per_step, firsts[i]) for i in finished])
        for i, raw in zip(finished, cached, strict=True):
            if raw is not None:
                steps[i] = Step.loads(raw)
    missing = [i for i, step in enumerate(steps) if step is None]
    for i, step in zip(missing, _read_steps(client, hook, firsts, per_step, missing), strict=True):
        steps[i] = step
    if per_step > 1:
        with client.pipeline(transaction=False) as pipe:
            for i in set(missing) & set(finished):
                key = keys.stats_step_cache(scope, per_step, firsts[i])
                pipe.set(key, steps[i].dumps(), ex=KEEP_S + per_step * BUCKET_S)
            pipe.execute()
    return _render(hook, minutes, per_step, [s for s in steps if s is not None])


def _read_steps(
    client: redis.Redis, hook: str | None, firsts: list[int], per_step: int, which: list[int]
) -> list[Step]:
    """Sum the steps ``which`` (indexes into ``firsts``) from their minute buckets."""
    fields = _hook_fields(hook) if hook else []
    with client.pipeline(transaction=False) as pipe:
        for i in which:
            for m in range(firsts[i], firsts[i] + per_step):
                if hook:
                    pipe.hmget(keys.stats_hooks(m), fields)
                else:
                    pipe.hgetall(keys.stats_fleet(m))
        replies = pipe.execute()
    steps = [Step() for _ in which]
    for n, reply in enumerate(replies):
        step = steps[n // per_step]
        pairs = (
            zip(fields, reply, strict=True) if hook else ((k.decode(), v) for k, v in reply.items())
        )
        for name, value in pairs:
            if value is None:
                continue
            parts = name.split("|")
            kind, label = (parts[1], parts[2]) if hook else (parts[0], parts[1])
            step.add(kind, label, float(value))
    return steps


def _render(
    hook: str | None, minutes: list[int], per_step: int, steps: list[Step]
) -> dict[str, Any]:
    def column(kind: str, source: str = "counts") -> dict[str, list[float | None]]:
        labels = sorted({label for s in steps for label in getattr(s, source)[kind]})
        if source == "counts":
            return {lab: [s.counts[kind].get(lab, 0.0) for s in steps] for lab in labels}
        return {lab: [s.gauges[kind].get(lab) for s in steps] for lab in labels}

    out: dict[str, Any] = {
        "hook": hook,
        "stepS": per_step * BUCKET_S,
        "t": [minutes[i * per_step] * BUCKET_S for i in range(len(steps))],
        "events": column("ev"),
        "jobs": {s: column("jf").get(s, [0.0] * len(steps)) for s in _STATUSES},
        "terminations": column("tr"),
        "durationMs": {
            "p50": [quantile(s.hist, 0.5, s.longest) for s in steps],
            "p95": [quantile(s.hist, 0.95, s.longest) for s in steps],
            "max": [s.longest for s in steps],
        },
        "redZoneMs": 5.0,
    }
    if hook is None:
        out["childRssBytes"] = column("rss", "gauges")
        out["warmIsolates"] = column("iso", "gauges")
        out["queueDepth"] = column("q", "gauges")
    return out
