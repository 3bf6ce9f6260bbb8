"""Which project a hook or a job belongs to, read from what is stored.

A hook's ``project`` is in its definition; a job's is a field the intake
writes from its hook. Either may be absent (written before there were
projects): such hooks and jobs belong to ``default``, where every hook was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import redis

from workers.errors import HookNotFound, QuotaExceeded
from workers.store import keys
from workers.store.access.projects import DEFAULT

__all__ = ["hook_projects", "project_hook_ids", "job_project", "admit_hook"]


def _project_of_def(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return orjson.loads(raw).get("project") or DEFAULT


def hook_projects(client: Any, hook_ids: Iterable[str]) -> dict[str, str]:
    """Each stored hook's project (hooks not stored are left out)."""
    ids = list(hook_ids)
    with client.pipeline(transaction=False) as pipe:
        for hook_id in ids:
            pipe.hget(keys.hook(hook_id), "def")
        raws = pipe.execute()
    return {
        hook_id: project
        for hook_id, raw in zip(ids, raws, strict=True)
        if (project := _project_of_def(raw)) is not None
    }


def project_hook_ids(client: redis.Redis, project: str) -> set[str]:
    """Ids of the stored hooks of ``project``."""
    ids = [i.decode() for i in client.smembers(keys.hook_ids())]
    return {h for h, p in hook_projects(client, ids).items() if p == project}


def job_project(raw: dict[bytes, bytes]) -> str:
    """The project of a stored job (its hook's when it was accepted)."""
    value = raw.get(b"project")
    return value.decode() if value else DEFAULT


def admit_hook(max_hooks: int | None) -> Any:
    """A ``HookStore.put`` guard: a new hook of a project that already has
    ``max_hooks`` hooks raises ``QuotaExceeded`` (422), and a hook stored
    meanwhile by another project ``HookNotFound``. It runs inside the
    put's WATCH and watches the hook set too, so two creates at once cannot
    both take the last place."""

    def admit(pipe: Any, old: Any, hook: Any) -> None:
        if old is not None and old.project != hook.project:
            pipe.unwatch()  # taken meanwhile by another project: not this caller's
            raise HookNotFound(f"no hook named {hook.id!r}")
        if old is not None or max_hooks is None:
            return
        pipe.watch(keys.hook_ids())
        ids = [i.decode() for i in pipe.smembers(keys.hook_ids())]
        raws = [pipe.hget(keys.hook(i), "def") for i in ids]
        count = sum(1 for raw in raws if _project_of_def(raw) == hook.project)
        if count >= max_hooks:
            pipe.unwatch()
            raise QuotaExceeded(
                f"project {hook.project!r} has {count} hooks, its maxHooks quota is {max_hooks}"
            )

    return admit
