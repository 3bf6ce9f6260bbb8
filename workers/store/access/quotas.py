"""A project's quotas as the intake and the store apply them (issue 23).

``eventsPerMinute`` is a token bucket checked and spent inside the job
store's CREATE call (``access/rate.lua``): no round trip of its own. The
intake learns the quota from its per-process cache of projects
(``app/hook_cache.py``, at most a second old).

``kvBytes`` is the sum of the ``bytes`` stats of the project's hooks' KV,
checked in the KV set Lua (``kv/set.lua``) against the other hooks' stats
keys found here. Entries expired but not yet swept still count until a
write of their hook sweeps them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

from workers.errors import HookletError, NotFound, RateLimited, StoreFull
from workers.store import keys
from workers.store.access.membership import hook_projects, project_hook_ids
from workers.store.access.projects import DEFAULT, ProjectStore
from workers.store.jobs.steps import Created
from workers.store.metrics import count_quota_refusal

__all__ = [
    "KvScope",
    "ProjectStore",
    "count_refusal",
    "kv_scope",
    "rate_condition",
    "refusal",
    "store_full_key",
]


def rate_condition(project: str, quotas: Mapping[str, int] | None) -> tuple[str, int] | None:
    """``Conditions.rate`` for an event of ``project``: None when it has no
    ``eventsPerMinute``."""
    per_minute = (quotas or {}).get("eventsPerMinute")
    return None if per_minute is None else (keys.project_rate(project), per_minute)


def count_refusal(client: Any, project: str, quota: str) -> None:
    """Count it in /metrics; best effort (the refusal is answered anyway)."""
    try:
        count_quota_refusal(client, project, quota)
    except (redis.RedisError, OSError):
        pass


def store_full_key(project: str, quotas: Mapping[str, int] | None) -> str | None:
    """``Conditions.store_full_key``: None when the project has no ``storedBytes``."""
    has_quota = (quotas or {}).get("storedBytes") is not None
    return keys.project_store_full(project) if has_quota else None


def refusal(client: Any, project: str, created: Created, wait: str | None) -> HookletError:
    """The refusal of an event past ``eventsPerMinute`` (429) or
    ``storedBytes`` (503 ``store_full``), counted."""
    if created is Created.PROJECT_FULL:
        count_refusal(client, project, "storedBytes")
        return StoreFull(
            f"project {project!r} is past its storedBytes with no finished job left to "
            "trim; the event was not accepted"
        )
    count_refusal(client, project, "eventsPerMinute")
    return RateLimited(
        f"project {project!r} is past its eventsPerMinute; the event was not accepted",
        int(wait or 1),
    )


# -- kvBytes -------------------------------------------------------------------

_KV_TTL_S = 1.0
_kv_scopes: dict[str, tuple[float, KvScope | None]] = {}
_kv_lock = threading.Lock()


@dataclass(frozen=True)
class KvScope:
    """What a KV write of a hook checks for its project's ``kvBytes``."""

    project: str
    max_bytes: int
    other_stats: tuple[str, ...]  # keys.kv_stats of the project's other hooks


def kv_scope(client: Any, hook_id: str) -> KvScope | None:
    """The hook's project's ``kvBytes`` and its other hooks' KV stats keys,
    None without the quota. Kept per process for at most a second (a quota
    or a hook added meanwhile applies within it), so a run's KV writes
    cost no extra round trips."""
    now = time.monotonic()
    with _kv_lock:
        entry = _kv_scopes.get(hook_id)
    if entry is not None and now - entry[0] < _KV_TTL_S:
        return entry[1]
    project = hook_projects(client, [hook_id]).get(hook_id, DEFAULT)
    try:
        max_bytes = ProjectStore(client).get(project).quotas.get("kvBytes")
    except NotFound:
        max_bytes = None
    scope = None
    if max_bytes is not None:
        others = sorted(project_hook_ids(client, project) - {hook_id})
        scope = KvScope(project, max_bytes, tuple(keys.kv_stats(h) for h in others))
    with _kv_lock:
        if len(_kv_scopes) > 4096:
            _kv_scopes.clear()
        _kv_scopes[hook_id] = (now, scope)
    return scope
