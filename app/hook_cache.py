"""The intake's per-process copies of hooks.

Reading the hook costs the intake a Redis round trip per event. Instead, each
web process keeps the hooks it has seen, each with the etag (SHA-1) of the
stored definition it was parsed from. A copy may be stale; the Lua call that
creates the job compares the etag with the stored hook and refuses the job if
they differ (``HookChanged``). So a stale copy costs a retry, never a job taken
in under a definition that is no longer the hook's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from typing import NamedTuple

from workers.errors import HookNotFound
from workers.store.hooks import Hook, HookStore

__all__ = ["CachedHook", "HookCache"]


class CachedHook(NamedTuple):
    hook: Hook
    etag: str


class HookCache:
    """An LRU of ``CachedHook`` by hook id, safe across gunicorn's threads."""

    def __init__(self, store: HookStore, capacity: int = 1024) -> None:
        self._store = store
        self._capacity = capacity
        self._entries: OrderedDict[str, CachedHook] = OrderedDict()
        self._lock = threading.Lock()

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
