"""Ordering keys (store/ordering/): one event per key at a time."""

from __future__ import annotations

import hashlib

from workers.store.keys.prefix import PREFIX


def ordering_prefix() -> str:
    """What ``ordering`` starts with: the ordering Lua (store/ordering/)
    builds a key's records from it as ``<prefix><hook>:<key id>``, and
    ``ordering_jobs``/``ordering_callbacks`` by adding ``:jobs``/``:callbacks``."""
    return f"{PREFIX}:order:"


def ordering(hook_id: str, key_id: str) -> str:
    """Hash: one ordering key of a hook (``key_id``: ``ordering_key_id``):
    ``key`` (as sent), ``holder`` (the job that has the key: queued in its
    lane, running, or failed and blocking), ``blockedAt``, and
    ``callbackHolder`` (the job whose callback goes out now)."""
    return f"{ordering_prefix()}{hook_id}:{key_id}"


def ordering_jobs(hook_id: str, key_id: str) -> str:
    """List: the key's jobs waiting for it, in the order accepted."""
    return f"{ordering(hook_id, key_id)}:jobs"


def ordering_callbacks(hook_id: str, key_id: str) -> str:
    """List: the key's jobs whose callbacks wait for the one going out."""
    return f"{ordering(hook_id, key_id)}:callbacks"


def ordering_blocked(hook_id: str) -> str:
    """Sorted set: a hook's blocked ordering keys (key ids) by when they
    blocked. The id comes last: the ordering Lua builds it from a prefix."""
    return f"{PREFIX}:order-blocked:{hook_id}"


def ordering_waiting() -> str:
    """Hash: per hook, its events waiting for their ordering key (outside
    the lane, yet counted against its ``maxQueued``)."""
    return f"{PREFIX}:order-waiting"


def ordering_key_id(key: str) -> str:
    """A key's id in Redis: SHA-1 in hex, so any key (a path, a long header)
    makes a short key name without separators."""
    return hashlib.sha1(key.encode("utf-8", "surrogateescape"), usedforsecurity=False).hexdigest()
