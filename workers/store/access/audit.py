"""The audit log: who changed what through the API, one Redis stream per
project (entry ids are times), trimmed to the retention with ``MINID`` on
each write and expiring whole when nothing is written for as long.

An entry: time, token id and name, project, action (``hook.create``,
``secrets.set``, ``token.revoke``, ``jobs.replay``...), object, and the
object's version before and after. Never a secret's value or a token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from workers.store import keys

__all__ = ["AuditEntry", "AuditLog", "Page"]

_CHUNK = 500


@dataclass(frozen=True)
class AuditEntry:
    token_id: str
    token_name: str
    project: str
    action: str
    object: str
    before: int | None = None  # the object's version before the change
    after: int | None = None
    detail: dict[str, Any] | None = None  # what else (ids, counts; no secret, no token)


@dataclass(frozen=True)
class Page:
    entries: list[dict[str, Any]]
    next_cursor: str | None


def _stream_id(raw: str) -> tuple[int, int]:
    ms, _, seq = raw.partition("-")
    return int(ms), int(seq or 0)


def _render(project: str, entry_id: str, fields: dict[bytes, bytes]) -> dict[str, Any]:
    text = {k.decode(): v.decode() for k, v in fields.items()}
    return {
        "id": f"{entry_id}/{project}",
        "at": _stream_id(entry_id)[0] / 1000,
        "tokenId": text.get("tokenId"),
        "tokenName": text.get("tokenName"),
        "project": project,
        "action": text.get("action"),
        "object": text.get("object"),
        "versionBefore": int(text["before"]) if text.get("before") else None,
        "versionAfter": int(text["after"]) if text.get("after") else None,
        "detail": orjson.loads(text["detail"]) if text.get("detail") else None,
    }


class AuditLog:
    def __init__(self, client: redis.Redis, retention_s: int) -> None:
        self._redis = client
        self._retention_s = retention_s

    def record(self, entry: AuditEntry) -> None:
        fields: dict[str, str | bytes] = {
            "tokenId": entry.token_id,
            "tokenName": entry.token_name,
            "action": entry.action,
            "object": entry.object,
        }
        if entry.before is not None:
            fields["before"] = str(entry.before)
        if entry.after is not None:
            fields["after"] = str(entry.after)
        if entry.detail:
            fields["detail"] = orjson.dumps(entry.detail)
        key = keys.audit(entry.project)
        oldest_ms = int((time.time() - self._retention_s) * 1000)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, fields, minid=oldest_ms, approximate=False)
            pipe.expire(key, self._retention_s)
            pipe.execute()

    def read(
        self,
        projects: list[str],
        since: float | None = None,
        action: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Entries of ``projects`` oldest first from ``since`` (within the
        retention), of ``action`` (or its prefix, ``hook.``), after ``cursor``
        (a ``nextCursor``: ``<entry id>/<project>``)."""
        oldest = time.time() - self._retention_s
        start_ms = int(max(since if since is not None else oldest, oldest) * 1000)
        after: tuple[tuple[int, int], str] | None = None
        if cursor:
            entry_id, _, project = cursor.partition("/")
            after = (_stream_id(entry_id), project)
            start_ms = max(start_ms, after[0][0])
        found: list[tuple[tuple[int, int], str, dict[str, Any]]] = []
        for project in projects:
            found.extend(self._scan(project, start_ms, after, action, limit))
        found.sort(key=lambda item: (item[0], item[1]))
        page = found[:limit]
        more = len(found) > limit
        next_cursor = page[-1][2]["id"] if more and page else None
        return Page([item[2] for item in page], next_cursor)

    def _scan(
        self,
        project: str,
        start_ms: int,
        after: tuple[tuple[int, int], str] | None,
        action: str | None,
        limit: int,
    ) -> list[tuple[tuple[int, int], str, dict[str, Any]]]:
        out: list[tuple[tuple[int, int], str, dict[str, Any]]] = []
        low = str(start_ms)
        while len(out) <= limit:
            rows = self._redis.xrange(keys.audit(project), min=low, count=_CHUNK)
            for raw_id, fields in rows:
                entry_id = raw_id.decode()
                sid = _stream_id(entry_id)
                if after is not None and (sid, project) <= after:
                    continue
                entry = _render(project, entry_id, fields)
                if action and not _action_matches(entry["action"] or "", action):
                    continue
                out.append((sid, project, entry))
            if len(rows) < _CHUNK:
                break
            low = "(" + rows[-1][0].decode()
        return out[: limit + 1]


def _action_matches(have: str, want: str) -> bool:
    return have == want or (want.endswith(".") and have.startswith(want))
