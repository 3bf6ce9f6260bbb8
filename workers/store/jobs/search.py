"""Searching jobs across hooks: newest first, by hook, status, reason,
delivery and time, with a cursor.

The job store's Lua calls keep sorted sets of job ids by creation time (all
events, each hook's, the failed ones, the failed deliveries; keys from
workers/store/keys/indexes.py), each entry as long as its job lives
(``jobs/index.py``). A search walks the narrowest of them from the newest end
and reads only the small fields of each job, so a page costs the same with 100 or
100,000 retained jobs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from workers.store import keys
from workers.store.jobs.view import iso_time

__all__ = ["JobFilter", "Page", "search", "count", "SUMMARY_FIELDS"]

SUMMARY_FIELDS = (
    "id",
    "hookId",
    "status",
    "reason",
    "error",
    "version",
    "attempts",
    "createdAt",
    "finishedAt",
    "durationMs",
    "replayOf",
    "replayedBy",
    "deliveryStatus",
    "project",
)
_CHUNK = 200  # index entries read per round trip


@dataclass(frozen=True)
class JobFilter:
    hook: str | None = None
    status: str | None = None
    reason: str | None = None
    delivery: str | None = None  # "failed": the callback's retries ran out
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # epoch seconds, exclusive
    replayed: bool | None = None  # None: either; False: not yet replayed
    project: str | None = None  # only this project's jobs (a project token's search)

    def index(self) -> str:
        """The narrowest index that holds every match."""
        if self.delivery == "failed":
            return keys.delivery_failed_index()
        if self.status == "failed" and self.replayed is False:
            if self.hook:
                return keys.hook_dead_letters_index(self.hook)
            return keys.dead_letters_index()
        if self.status == "failed":
            return keys.hook_failed_index(self.hook) if self.hook else keys.failed_jobs_index()
        if self.hook:
            return keys.hook_jobs_index(self.hook)
        return keys.jobs_index()

    def counted_by_index(self) -> bool:
        """Whether every entry of ``index()`` in the time range matches, so a
        count is one ZCOUNT (the dry run of replaying the dead letters)."""
        return (
            self.status == "failed"
            and self.replayed is not True
            and self.reason is None
            and self.delivery is None
            and self.project is None
        )

    def matches(self, job: dict[str, Any]) -> bool:
        if job.get("status") is None:  # expired since it was indexed
            return False
        checks = (
            (self.hook, job["hookId"]),
            (self.status, job["status"]),
            (self.reason, job["reason"]),
            (self.delivery, job["deliveryStatus"]),
            (self.project, job["project"]),
        )
        if any(want is not None and want != have for want, have in checks):
            return False
        return self.replayed is None or self.replayed == (job["replayedBy"] is not None)


@dataclass(frozen=True)
class Page:
    jobs: list[dict[str, Any]]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page
    scanned: int


def _summary(values: list[bytes | None]) -> dict[str, Any]:
    texts = [v.decode() if v is not None else None for v in values]
    raw = dict(zip(SUMMARY_FIELDS, texts, strict=True))
    number = {k: float(raw[k]) if raw[k] else None for k in ("createdAt", "finishedAt")}
    return {
        "jobId": raw["id"],
        "hookId": raw["hookId"],
        "status": raw["status"],
        "reason": raw["reason"],
        "error": raw["error"],
        "scriptVersion": int(raw["version"]) if raw["version"] else None,
        "attempts": int(raw["attempts"] or 0),
        "createdAt": iso_time(number["createdAt"]),
        "finishedAt": iso_time(number["finishedAt"]),
        "durationMs": float(raw["durationMs"]) if raw["durationMs"] else None,
        "replayOf": raw["replayOf"],
        "replayedBy": raw["replayedBy"],
        "deliveryStatus": raw["deliveryStatus"],
        "project": raw["project"] or "default",  # jobs from before projects: default
        "_score": number["createdAt"],
    }


def _cursor(score: float, job_id: str) -> str:
    return f"{score!r}:{job_id}"


def _parse_cursor(cursor: str | None) -> tuple[float, str] | None:
    if not cursor:
        return None
    score, _, job_id = cursor.partition(":")
    return float(score), job_id


def _walk(client: redis.Redis, flt: JobFilter, cursor: str | None, max_scan: int) -> Any:
    """Yield (score, job id, summary) from the newest match down, after ``cursor``."""
    index = flt.index()
    upper: float | str = f"({flt.until!r}" if flt.until is not None else "+inf"
    bottom: float | str = flt.since if flt.since is not None else "-inf"
    after = _parse_cursor(cursor)
    if after is not None:
        upper = after[0]
    skip_until = after[1] if after else None
    scanned, offset = 0, 0
    while scanned < max_scan:
        entries = client.zrevrangebyscore(
            index, upper, bottom, start=offset, num=_CHUNK, withscores=True
        )
        if not entries:
            return
        offset += len(entries)
        if skip_until is not None:  # resume just after the cursor's job
            ids = [e[0].decode() for e in entries]
            if skip_until in ids:
                entries = entries[ids.index(skip_until) + 1 :]
            skip_until = None
        with client.pipeline(transaction=False) as pipe:
            for job_id, _ in entries:
                pipe.hmget(keys.job(job_id.decode()), SUMMARY_FIELDS)
            rows = pipe.execute()
        for (job_id, score), values in zip(entries, rows, strict=True):
            scanned += 1
            yield score, job_id.decode(), _summary(values), scanned


def search(
    client: redis.Redis,
    flt: JobFilter,
    limit: int = 50,
    cursor: str | None = None,
    max_scan: int = 5000,
) -> Page:
    """Up to ``limit`` matching jobs, newest first. Reads at most ``max_scan``
    index entries; ``next_cursor`` continues where this page stopped."""
    jobs: list[dict[str, Any]] = []
    last: tuple[float, str] | None = None
    scanned = 0
    for score, job_id, job, seen in _walk(client, flt, cursor, max_scan):
        last, scanned = (score, job_id), seen
        if flt.matches(job):
            job.pop("_score")
            jobs.append(job)
            if len(jobs) >= limit:
                break
    more = last is not None and (len(jobs) >= limit or scanned >= max_scan)
    return Page(jobs, _cursor(*last) if more and last else None, scanned)


def count(client: redis.Redis, flt: JobFilter, max_scan: int = 20_000) -> tuple[int, bool]:
    """How many jobs match (for a dry run), and whether the count stopped at
    ``max_scan`` index entries (then it is a lower bound)."""
    if flt.counted_by_index():
        low = flt.since if flt.since is not None else "-inf"
        high = f"({flt.until!r}" if flt.until is not None else "+inf"
        return int(client.zcount(flt.index(), low, high)), False
    found = scanned = 0
    for _, _, job, seen in _walk(client, flt, None, max_scan):
        found, scanned = found + flt.matches(job), seen
    return found, scanned >= max_scan


def parse_since(value: str | None, now: float | None = None) -> float | None:
    """``1h``, ``30m``, ``2d``, ``90s`` ago, or epoch seconds, or None."""
    if not value:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1] in units and value[:-1].replace(".", "", 1).isdigit():
        return (now or time.time()) - float(value[:-1]) * units[value[-1]]
    return float(value)
