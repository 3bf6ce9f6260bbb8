"""What a hook version was, kept so a rollback can bring it back.

Each version's script has always been kept (``keys.script``: a queued job
runs the version it was accepted with). Beside it, each version's other
settings (mode, response, limits, route...) are kept as a *revision*
(``keys.hook_revision``), written in the same transaction that makes the
version live, whoever makes it (``HookStore.put``, a promote, a rollback).

A revision holds no credentials: the hook's ``secrets``, its ``verify``
block and its callback signing secret are never copied into it, so a secret
removed from a hook is gone from Redis, and a rollback never brings back a
credential that was changed on purpose (it keeps the live ones). The
owning project never changes, so it is not kept either.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis

from workers.store import keys

__all__ = ["CREDENTIALS", "revision_json", "read_revision"]

# Fields of a stored hook record a revision leaves out: the credentials, the
# script (kept under its own key), the project and the version's metadata.
CREDENTIALS = ("secrets", "verify", "callback_secret")
_LEFT_OUT = (*CREDENTIALS, "script", "project", "version", "created_at", "updated_at")


def revision_json(record: dict[str, Any]) -> bytes:
    """The revision of a stored hook record (``hook_definition.record``)."""
    return orjson.dumps({k: v for k, v in record.items() if k not in _LEFT_OUT})


def read_revision(client: redis.Redis, hook_id: str, version: int) -> dict[str, Any] | None:
    """A version's settings, or None for a version made before revisions
    were kept (then only its script is known)."""
    raw = client.get(keys.hook_revision(hook_id, version))
    return None if raw is None else orjson.loads(raw)
