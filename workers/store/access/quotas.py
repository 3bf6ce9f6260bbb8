"""A project's quotas as the intake and the store apply them (issue 23).

``eventsPerMinute`` is a token bucket checked and spent inside the job
store's CREATE call (``access/rate.lua``): no round trip of its own. The
intake learns the quota from its per-process cache of projects
(``app/hook_cache.py``, at most a second old).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis

from workers.errors import RateLimited
from workers.store import keys
from workers.store.access.projects import ProjectStore
from workers.store.metrics import count_quota_refusal

__all__ = ["ProjectStore", "rate_condition", "rate_limited", "count_refusal"]


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


def rate_limited(client: Any, project: str, wait: str | None) -> RateLimited:
    """The refusal of an event past ``eventsPerMinute``, counted."""
    count_refusal(client, project, "eventsPerMinute")
    return RateLimited(
        f"project {project!r} is past its eventsPerMinute; the event was not accepted",
        int(wait or 1),
    )
