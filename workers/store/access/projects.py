"""Projects: a project owns hooks (``Hook.project``), their jobs, KV, stats,
quotas and audit entries. ``default`` always exists: hooks stored before
there were projects have no ``project`` and belong to it, so an upgraded
Redis keeps every hook where it was.

A project is one hash (``def`` JSON) and a member of the project set. Its
``quotas`` object is stored and returned whole; ``maxHooks`` is enforced when
a hook is created (``admit_hook``), the others are for the intake and store.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson
import redis

from workers.errors import HookletError, InvalidRequest, NotFound
from workers.store import keys

__all__ = [
    "DEFAULT",
    "QUOTA_NAMES",
    "Project",
    "ProjectStore",
    "check_quotas",
    "check_id",
    "ProjectExists",
]

DEFAULT = "default"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# maxHooks: hooks at once (422 past it). The rest are stored for the intake
# and the store: eventsPerMinute, storedBytes, kvBytes, maxConcurrent.
QUOTA_NAMES = ("maxHooks", "eventsPerMinute", "storedBytes", "kvBytes", "maxConcurrent")


class ProjectExists(HookletError):
    """A project with this id exists."""

    code, status = "conflict", 409


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    quotas: dict[str, int] = field(default_factory=dict)
    version: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "quotas": self.quotas,
            "version": self.version,
            "createdAt": self.created_at or None,
            "updatedAt": self.updated_at or None,
        }


def check_id(project_id: Any) -> str:
    if not isinstance(project_id, str) or not _ID.match(project_id):
        raise InvalidRequest("id: 1-63 of a-z, 0-9, '-' and '_', starting with a letter or digit")
    return project_id


def check_quotas(quotas: Any, *, drop_nulls: bool = True) -> dict[str, int | None]:
    """``{name: whole number >= 0}`` of known quota names; null drops one
    (kept as ``None`` with ``drop_nulls=False``, for a merge that removes it)."""
    if not isinstance(quotas, dict):
        raise InvalidRequest('quotas: an object, e.g. {"maxHooks": 10}')
    unknown = sorted(set(quotas) - set(QUOTA_NAMES))
    if unknown:
        known = ", ".join(QUOTA_NAMES)
        raise InvalidRequest(f"quotas: unknown {', '.join(unknown)}; known: {known}")
    for name, value in quotas.items():
        if value is not None and (type(value) is not int or value < 0):
            raise InvalidRequest(f"quotas.{name}: a whole number, at least 0 (or null: none)")
    return {k: v for k, v in quotas.items() if v is not None or not drop_nulls}


def _from_raw(raw: bytes) -> Project:
    return Project(**orjson.loads(raw))


class ProjectStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def get(self, project_id: str) -> Project:
        raw = self._redis.hget(keys.project(project_id), "def")
        if raw is not None:
            return _from_raw(raw)
        if project_id == DEFAULT:
            return Project(DEFAULT, "Default")
        raise NotFound(f"no project {project_id!r}")

    def exists(self, project_id: str) -> bool:
        return project_id == DEFAULT or bool(self._redis.exists(keys.project(project_id)))

    def list(self) -> list[Project]:
        ids = sorted({i.decode() for i in self._redis.smembers(keys.project_ids())} | {DEFAULT})
        with self._redis.pipeline(transaction=False) as pipe:
            for project_id in ids:
                pipe.hget(keys.project(project_id), "def")
            raws = pipe.execute()
        return [
            _from_raw(raw) if raw is not None else Project(DEFAULT, "Default")
            for project_id, raw in zip(ids, raws, strict=True)
            if raw is not None or project_id == DEFAULT
        ]

    def create(self, project: Project) -> Project:
        """Store a new project; raises ``InvalidRequest`` if the id is taken."""
        now = time.time()
        stored = replace(project, version=1, created_at=now, updated_at=now)
        key = keys.project(project.id)
        raw = orjson.dumps(asdict(stored))
        if project.id == DEFAULT or not self._redis.hsetnx(key, "def", raw):
            raise ProjectExists(f"project {project.id!r} exists")
        self._redis.sadd(keys.project_ids(), project.id)
        return stored

    def update(self, project_id: str, changes: dict[str, Any]) -> tuple[Project, Project]:
        """Apply ``changes`` (name, quotas); returns (before, after)."""
        key = keys.project(project_id)
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    old = self.get(project_id)
                    new = replace(old, **changes, version=old.version + 1, updated_at=time.time())
                    new = replace(new, created_at=old.created_at or new.updated_at)
                    pipe.multi()
                    pipe.hset(key, "def", orjson.dumps(asdict(new)))
                    pipe.sadd(keys.project_ids(), project_id)
                    pipe.execute()
                    return old, new
                except redis.WatchError:
                    continue

    def delete(self, project_id: str) -> Project:
        old = self.get(project_id)
        if project_id == DEFAULT:
            raise InvalidRequest("the default project cannot be deleted")
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.project(project_id))
            pipe.srem(keys.project_ids(), project_id)
            pipe.execute()
        return old
