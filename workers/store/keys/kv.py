"""A hook's script KV (store/kv/, ``secutils.kv``)."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def kv_of(hook_id: str) -> tuple[str, ...]:
    """SCAN patterns: a hook's script KV store (``secutils.kv``). Whatever
    shape ``kv`` keys take, they must match one of these, so that deleting a
    hook deletes its data."""
    return (f"{PREFIX}:kv:{hook_id}", f"{PREFIX}:kv:{hook_id}:*")


def kv_data(hook_id: str) -> str:
    """Hash: a hook's script KV (secutils.kv): key -> value bytes."""
    return f"{PREFIX}:kv:{hook_id}:data"


def kv_meta(hook_id: str) -> str:
    """Hash: key -> "createdAt expiresAt" (unix seconds; expiresAt 0 = never)."""
    return f"{PREFIX}:kv:{hook_id}:meta"


def kv_index(hook_id: str) -> str:
    """Sorted set, all scores 0: the keys, for byte-ordered prefix listing."""
    return f"{PREFIX}:kv:{hook_id}:index"


def kv_expiry(hook_id: str) -> str:
    """Sorted set: keys that expire, scored by when."""
    return f"{PREFIX}:kv:{hook_id}:expiry"


def kv_stats(hook_id: str) -> str:
    """Hash: ``entries`` and ``bytes`` of the hook's stored KV."""
    return f"{PREFIX}:kv:{hook_id}:stats"


def kv_changes(hook_id: str) -> str:
    """Pub/sub channel: a key of the hook's KV was written (wakes ``watch``)."""
    return f"{PREFIX}:kv:{hook_id}:changes"


def kv_all(hook_id: str) -> tuple[str, ...]:
    """Every key of a hook's script KV (deleted with the hook)."""
    return (
        kv_data(hook_id),
        kv_meta(hook_id),
        kv_index(hook_id),
        kv_expiry(hook_id),
        kv_stats(hook_id),
    )
