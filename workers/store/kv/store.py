"""The script KV (``secutils.kv``): a per-hook key/value store in Redis with
secutils' semantics and quotas.

Values cross into JavaScript as unpadded base64url strings and are stored as
bytes. Every write is one Lua step that checks the entry and byte quotas
first and writes nothing when one is over (kv/scripts.py). Expired entries
are invisible at once and swept a hundred at a time by later writes. No hook
reads another's KV: every key is built from the hook id of the running job.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from typing import Any

import redis

from workers.store import keys
from workers.store.access.quotas import count_refusal, kv_scope
from workers.store.kv.scripts import DELETE, SET, SWEEP, DeleteArgs, KvKeys, SetArgs, SweepArgs
from workers.store.lua import LuaStep

__all__ = ["KvError", "KvQuotas", "KvStore", "b64url_decode", "b64url_encode"]

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_LIST_MAX = 1000
_WATCH_RELIST_S = 2.0


class KvError(Exception):
    """A KV call failed; the message is secutils' text, shown to the script."""


@dataclass(frozen=True)
class KvQuotas:
    key_bytes: int = 256
    value_bytes: int = 1024 * 1024
    entries: int = 100_000
    total_bytes: int = 1024**3
    max_ttl_s: int = 30 * 24 * 3600


def b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url (secutils' base64ct): no padding, no '+' or
    '/', no impossible length, no stray trailing bits."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("invalid Base64 encoding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("invalid Base64 encoding") from exc
    if b64url_encode(data) != text:
        raise ValueError("invalid Base64 encoding")
    return data


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _u64(value: Any) -> int:
    """serde_v8's ``f64 as u64``: truncate, negatives and NaN to 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return max(0, int(value))


class KvStore:
    """One hook's KV."""

    def __init__(self, client: redis.Redis, hook_id: str, quotas: KvQuotas) -> None:
        self._redis = client
        self._hook = hook_id
        self.quotas = quotas
        self._keys = KvKeys(
            keys.kv_data(hook_id),
            keys.kv_meta(hook_id),
            keys.kv_index(hook_id),
            keys.kv_expiry(hook_id),
            keys.kv_stats(hook_id),
        )
        self._set = LuaStep(client, SET, KvKeys, SetArgs)
        self._delete = LuaStep(client, DELETE, KvKeys, DeleteArgs)
        self._sweep = LuaStep(client, SWEEP, KvKeys, SweepArgs)

    def _check_key(self, key: str) -> bytes:
        raw = key.encode("utf-8", "surrogatepass")
        if len(raw) > self.quotas.key_bytes:
            raise KvError(f"KV key exceeds the maximum of {self.quotas.key_bytes} bytes.")
        return raw

    def get_entry(self, key: str) -> dict[str, Any]:
        raw = self._check_key(key)
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.data, raw)
            pipe.hget(self._keys.meta, raw)
            value, meta = pipe.execute()
        if value is None or meta is None:
            return {"value": None, "expiresAt": None}
        expires_at = int(meta.split()[1])
        if expires_at and expires_at <= int(time.time()):
            return {"value": None, "expiresAt": None}
        return {"value": b64url_encode(value), "expiresAt": expires_at or None}

    def set(self, key: str, value_b64: str, opts: Any) -> None:
        raw = self._check_key(key)
        try:
            value = b64url_decode(value_b64)
        except ValueError as exc:
            raise KvError(f"KV value is not valid base64url: {exc}") from exc
        q = self.quotas
        if len(value) > q.value_bytes:
            raise KvError(f"KV value exceeds the maximum of {q.value_bytes} bytes.")
        opts = opts if isinstance(opts, dict) else {}
        now = int(time.time())
        expires_at = 0
        if opts.get("ttlSec") is not None:
            ttl = _u64(opts["ttlSec"])
            expires_at = now + (min(ttl, q.max_ttl_s) if q.max_ttl_s > 0 else ttl)
        scope = kv_scope(self._redis, self._hook)  # the project's kvBytes
        args = SetArgs(
            raw, value, now, expires_at, int(opts.get("ifAbsent") is True), q.entries,
            q.total_bytes, "" if scope is None else scope.max_bytes,
        )  # fmt: skip
        status, detail = self._set(self._keys, args, scope.other_stats if scope else ())
        if status == b"entries":
            raise KvError(f"KV entry limit reached ({q.entries} entries).")
        if status == b"bytes":
            raise KvError(f"KV total size limit reached ({q.total_bytes} bytes).")
        if status == b"project_bytes" and scope is not None:
            count_refusal(self._redis, scope.project, "kvBytes")
            raise KvError(f"KV project size limit reached ({scope.max_bytes} bytes).")
        if int(detail):
            self._redis.publish(keys.kv_changes(self._hook), raw)

    def delete(self, key: str) -> bool:
        return bool(self._delete(self._keys, DeleteArgs(self._check_key(key))))

    def list(self, opts: Any, *, values: bool | None = None) -> dict[str, Any]:
        opts = opts if isinstance(opts, dict) else {}
        prefix = opts.get("prefix") if isinstance(opts.get("prefix"), str) else ""
        after = opts.get("after") if isinstance(opts.get("after"), str) else None
        limit = min(max(_u64(opts.get("limit", _LIST_MAX)), 1), _LIST_MAX)
        with_values = values if values is not None else opts.get("valuesIncluded") is not False
        p = prefix.encode()
        low = b"[" + p
        if after is not None and after.encode() >= p:
            low = b"(" + after.encode()
        high = b"(" + p + b"\xff" if p else b"+"
        now = int(time.time())
        entries: list[dict[str, Any]] = []
        offset = 0
        while len(entries) < limit:
            batch = self._redis.zrangebylex(self._keys.index, low, high, offset, limit)
            if not batch:
                break
            offset += len(batch)
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.hmget(self._keys.meta, batch)
                if with_values:
                    pipe.hmget(self._keys.data, batch)
                metas, *found = pipe.execute()
            datas = found[0] if with_values else [None] * len(batch)
            for key, meta, data in zip(batch, metas, datas, strict=True):
                if meta is None:
                    continue
                created, expires_at = (int(x) for x in meta.split())
                if expires_at and expires_at <= now:
                    continue
                entries.append(
                    {
                        "key": key.decode("utf-8", "replace"),
                        "createdAt": created,
                        "value": b64url_encode(data) if with_values and data is not None else None,
                    }
                )
                if len(entries) == limit:
                    break
        cursor = entries[-1]["key"] if entries else None
        return {"entries": entries, "cursor": cursor, "timedOut": False}

    def watch(self, opts: Any, deadline: float) -> dict[str, Any]:
        """Entries after the cursor now, or the first written before
        ``min(now + timeoutMs, deadline)``; else ``timedOut``."""
        if not isinstance(opts, dict) or not isinstance(opts.get("prefix"), str):
            raise KvError("missing field `prefix`")
        timeout_ms = _u64(opts.get("timeoutMs", 25_000))
        until = min(time.monotonic() + timeout_ms / 1000, deadline)
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(keys.kv_changes(self._hook))
        try:
            while True:
                found = self.list(opts, values=True)
                if found["entries"]:
                    return found
                left = until - time.monotonic()
                if left <= 0:
                    return {"entries": [], "cursor": None, "timedOut": True}
                pubsub.get_message(timeout=min(left, _WATCH_RELIST_S))
        finally:
            pubsub.close()

    def sweep(self, limit: int = 1000) -> None:
        self._sweep(self._keys, SweepArgs(int(time.time()), limit))
