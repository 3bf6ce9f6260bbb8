"""The intake's per-process copies of hooks.

Reading the hook costs the intake a Redis round trip per event. Instead, each
web process keeps the hooks it has seen, each with the etag (SHA-1) of the
stored definition it was parsed from. A copy may be stale; the Lua call that
creates the job compares the etag with the stored hook and refuses the job if
they differ (``HookChanged``). So a stale copy costs a retry, never a job taken
in under a definition that is no longer the hook's.

Projects' quotas are kept beside the hooks, each for at most
``QUOTA_TTL_S``: a quota changed through the API applies on every web
process within that, and the intake reads a project at most once a second.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import NamedTuple

from workers.errors import HookNotFound, NotFound
from workers.store.access.projects import ProjectStore
from workers.store.hooks import Hook, HookStore

__all__ = ["CachedHook", "HookCache"]

QUOTA_TTL_S = 1.0


class CachedHook(NamedTuple):
    hook: Hook
    etag: str


class HookCache:
    """An LRU of ``CachedHook`` by hook id, safe across gunicorn's threads."""

    def __init__(
        self, store: HookStore, projects: ProjectStore | None = None, capacity: int = 1024
    ) -> None:
        self._store = store
        self._projects = projects
        self._capacity = capacity
        self._entries: OrderedDict[str, CachedHook] = OrderedDict()
        self._quotas: dict[str, tuple[float, dict[str, int]]] = {}
        self._lock = threading.Lock()

    def quotas(self, project_id: str) -> dict[str, int]:
        """The project's quotas, read again when the copy is ``QUOTA_TTL_S`` old
        (a project gone meanwhile has none: its hooks go with it)."""
        now = time.monotonic()
        with self._lock:
            entry = self._quotas.get(project_id)
        if entry is not None and now - entry[0] < QUOTA_TTL_S:
            return entry[1]
        if self._projects is None:
            return {}
        try:
            quotas = dict(self._projects.get(project_id).quotas)
        except NotFound:
            quotas = {}
        with self._lock:
            if len(self._quotas) >= self._capacity:
                self._quotas.clear()
            self._quotas[project_id] = (now, quotas)
        return quotas

    def get(self, hook_id: str) -> CachedHook:
        """The cached copy, else the stored hook (raises ``HookNotFound``)."""
        with self._lock:
            entry = self._entries.get(hook_id)
            if entry is not None:
                self._entries.move_to_end(hook_id)
                return entry
        return self.refresh(hook_id)

    def refresh(self, hook_id: str) -> CachedHook:
        """Read the stored hook again and keep it (forget it if it is gone)."""
        try:
            hook, etag = self._store.get_with_etag(hook_id)
            entry = CachedHook(replace(hook, script=None), etag)  # the intake needs no script
        except HookNotFound:
            with self._lock:
                self._entries.pop(hook_id, None)
            raise
        with self._lock:
            self._entries[hook_id] = entry
            self._entries.move_to_end(hook_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return entry
