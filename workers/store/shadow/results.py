"""Shadow runs' results per hook, for its current draft: a count per outcome
and the last ``RECENT_MAX`` runs that did not answer the same, with their
diffs (``keys.shadow_results``, ``keys.shadow_recent``). Both are reset when
the draft changes (its etag, the SHA-1 of the stored draft, is checked in
Lua) and expire with the jobs' retention; every entry is capped in size, so
a hook's shadow results stay under ``RECENT_MAX`` x ``ENTRY_MAX_BYTES``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.lua import LuaStep, lua_source

__all__ = ["OUTCOMES", "RECENT_MAX", "ShadowResults"]

# skipped: the run could not be made (the lane was full, the live run kept no
# tape, the job was gone); the rest as a draft try reports them.
OUTCOMES = ("same", "differs", "diverged", "failed", "nondeterministic", "skipped")
RECENT_MAX = 50
ENTRY_MAX_BYTES = 16 * 1024


@dataclass(frozen=True)
class _OfferKeys:
    draft_key: str
    queue_key: str
    results_key: str
    recent_key: str
    metrics_key: str


@dataclass(frozen=True)
class _OfferArgs:
    message: bytes
    queue_max: int
    skip_why: str
    recent_max: int
    ttl_s: int
    metrics_field: str


@dataclass(frozen=True)
class _RecordKeys:
    draft_key: str
    results_key: str
    recent_key: str
    metrics_key: str


@dataclass(frozen=True)
class _RecordArgs:
    etag: str
    outcome: str
    entry: bytes
    recent_max: int
    ttl_s: int
    metrics_field: str


_OFFER = lua_source("shadow/offer.lua", include=("shadow/count.lua",))
_RECORD = lua_source("shadow/record.lua", include=("shadow/count.lua",))


class ShadowResults:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._redis = client
        self._settings = settings
        self._offer = LuaStep(client, _OFFER, _OfferKeys, _OfferArgs)
        self._record = LuaStep(client, _RECORD, _RecordKeys, _RecordArgs)

    def offer(self, hook_id: str, queue: str, message: bytes, skip_why: str = "") -> int:
        """Queue ``message`` on the shadow lane if the hook has a draft and the
        lane has room: 1 queued, 2 counted as skipped, 0 no draft."""
        s = self._settings
        return int(
            self._offer(
                _OfferKeys(keys.hook_draft(hook_id), keys.celery_queue(queue),
                           keys.shadow_results(hook_id), keys.shadow_recent(hook_id),
                           keys.metrics()),
                _OfferArgs(message, s.shadow_queue_max, skip_why, RECENT_MAX, s.retention_s,
                           _metric(hook_id, "skipped")),
            )
        )  # fmt: skip

    def record(self, hook_id: str, etag: str, outcome: str, entry: dict[str, Any] | None) -> bool:
        """Count a run of the draft ``etag``; ``entry`` (a run that did not
        answer the same) joins the recent list. False: the draft changed."""
        raw = b"" if entry is None else _capped({**entry, "outcome": outcome, "at": time.time()})
        return bool(
            self._record(
                _RecordKeys(keys.hook_draft(hook_id), keys.shadow_results(hook_id),
                            keys.shadow_recent(hook_id), keys.metrics()),
                _RecordArgs(etag, outcome, raw, RECENT_MAX, self._settings.retention_s,
                            _metric(hook_id, outcome)),
            )
        )  # fmt: skip

    def read(self, hook_id: str, etag: str | None) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """(counts per outcome, recent runs newest first) for the draft ``etag``."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.shadow_results(hook_id))
            pipe.lrange(keys.shadow_recent(hook_id), 0, RECENT_MAX - 1)
            stored, recent = pipe.execute()
        counts = dict.fromkeys(OUTCOMES, 0)
        if etag is None or stored.get(b"etag", b"").decode() != etag:
            return counts, []  # no draft, or results of an earlier one
        for name, value in stored.items():
            if name != b"etag":
                counts[name.decode()] = int(value)
        return counts, [orjson.loads(raw) for raw in recent]


def _metric(hook_id: str, outcome: str) -> str:
    return metrics.field("shadow_runs", hook=hook_id, outcome=outcome)


def _capped(entry: dict[str, Any]) -> bytes:
    """The entry as stored: its diff left out (with its size) when too big."""
    raw = orjson.dumps(entry)
    if len(raw) <= ENTRY_MAX_BYTES:
        return raw
    note = {"truncated": True, "bytes": len(raw), "fields": sorted(entry.get("diff") or {})}
    return orjson.dumps({**entry, "diff": note})
