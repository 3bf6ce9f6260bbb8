"""Metrics that every process records into Redis, so one scrape of any web
process sees the whole fleet (all gunicorn workers, all worker nodes and
children, on any host). Counters live in one hash; histogram buckets are
stored per bucket and made cumulative when exported (app/metrics.py).

Field format: ``name|label=value|label=value``. Labels are bounded: hook ids,
statuses and reasons, never paths or unknown hook names.
"""

from __future__ import annotations

import bisect
import functools
import os
import socket
import time
from collections.abc import Iterable
from typing import Any

from workers.store import keys

__all__ = [
    "DURATION_BUCKETS_S",
    "field",
    "job_fields",
    "outbound_fields",
    "record",
    "count_quota_refusal",
    "encode_increment",
    "child_entry",
    "parse_child_entry",
    "parse_field",
]

# Script execution time buckets, in seconds (secutils' "red zone" starts at 5 ms).
DURATION_BUCKETS_S = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


@functools.lru_cache(maxsize=4096)  # built for every job and event; labels are bounded
def field(name: str, **labels: str) -> str:
    return "|".join([name, *(f"{k}={v}" for k, v in sorted(labels.items()))])


def parse_field(raw: str) -> tuple[str, dict[str, str]]:
    name, *pairs = raw.split("|")
    return name, dict(pair.split("=", 1) for pair in pairs)


def job_fields(
    hook: str, status: str, reason: str | None, duration_s: float | None
) -> list[tuple[str, int | float]]:
    """The counter increments for one finished job. Counts are ints, the
    duration sum a float (``record`` and the job store rely on the type);
    ``duration_s`` is None when no script ran (e.g. the job was reaped)."""
    out: list[tuple[str, int | float]] = [(field("jobs_finished", hook=hook, status=status), 1)]
    if duration_s is not None:
        bucket = bisect.bisect_left(DURATION_BUCKETS_S, duration_s)
        le = str(DURATION_BUCKETS_S[bucket]) if bucket < len(DURATION_BUCKETS_S) else "+Inf"
        out += [
            (field("script_duration_bucket", hook=hook, le=le), 1),
            (field("script_duration_sum", hook=hook), float(duration_s)),
        ]  # no _count: /metrics sums the buckets (FINISH writes one field less)
    if reason is not None:
        out.append((field("script_terminations", hook=hook, reason=reason), 1))
    return out


def outbound_fields(hook: str, records: Iterable[dict[str, Any]]) -> list[tuple[str, int | float]]:
    """Counter increments for a run's outbound requests, by outcome
    (ok, refused, timeout, failed, too_large, invalid, limit)."""
    return [
        (field("script_outbound_requests", hook=hook, outcome=str(r.get("outcome", "ok"))), 1)
        for r in records
    ]


def record(pipe: Any, increments: Iterable[tuple[str, int | float]]) -> None:
    """Queue the increments on a Redis pipeline (or client). The command
    follows the amount's type, never its value: HINCRBY fails on a field that
    already holds a float, e.g. a duration sum that once got 30.0."""
    for name, amount in increments:
        if isinstance(amount, float):
            pipe.hincrbyfloat(keys.metrics(), name, amount)
        else:
            pipe.hincrby(keys.metrics(), name, amount)


def count_quota_refusal(client: Any, project: str, quota: str) -> None:
    """One request refused by a project's quota (``maxHooks``, ...):
    ``hooklet_quota_refusals_total{project,quota}``."""
    client.hincrby(keys.metrics(), field("quota_refusals", project=project, quota=quota), 1)


def encode_increment(amount: int | float) -> str:
    """An increment as the job store's Lua reads it: a float always has a '.'."""
    return f"{amount:.9f}" if isinstance(amount, float) else str(amount)


def child_name() -> str:
    return f"{_hostname()}/{os.getpid()}"


_hostname = functools.cache(socket.gethostname)  # asked once per process, not per job


def child_entry(rss_bytes: int, warm_isolates: int) -> tuple[str, str]:
    """This child's entry in the ``keys.child_rss()`` hash, written after each job."""
    return child_name(), f"{rss_bytes} {time.time():.0f} {warm_isolates}"


def parse_child_entry(value: str) -> tuple[int, float, int]:
    """(RSS bytes, reported at, warm isolates) of a ``child_entry`` value."""
    rss, at, isolates, *_ = [*value.split(), "0", "0", "0"]
    return int(rss), float(at), int(isolates)
