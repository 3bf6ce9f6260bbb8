"""Hooks: their definition, its validation, and their store in Redis."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets as _secrets
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson
import redis

from workers import keys
from workers.errors import HookNotFound, InvalidHook
from workers.settings import Settings
from workers.signatures import validate_verify

__all__ = [
    "Hook",
    "Limits",
    "HookStore",
    "parse_hook",
    "new_callback_secret",
    "etag_of",
    "HTTP_METHODS",
]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MODES = ("sync", "async")
ISOLATIONS = ("warm", "fresh")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
_KNOWN_FIELDS = {
    "id",
    "script",
    "mode",
    "methods",
    "response",
    "callbackUrl",
    "secrets",
    "limits",
    "requestsToTrack",
    "enabled",
    "isolation",
    "idempotencyHeader",
    "verify",
    # Read-only fields a client may echo back from GET; ignored on write.
    "version",
    "createdAt",
    "updatedAt",
    "secretNames",
}


@dataclass(frozen=True)
class Limits:
    timeout_ms: int
    heap_mb: int
    wait_ms: int
    max_concurrent: int

    def to_json(self) -> dict[str, int]:
        return {
            "timeoutMs": self.timeout_ms,
            "heapMb": self.heap_mb,
            "waitMs": self.wait_ms,
            "maxConcurrent": self.max_concurrent,
        }


@dataclass(frozen=True)
class Hook:
    id: str
    script: str | None
    mode: str
    methods: tuple[str, ...]
    response: dict[str, Any]
    limits: Limits
    requests_to_track: int
    enabled: bool = True
    isolation: str = "warm"
    callback_url: str | None = None
    idempotency_header: str | None = None
    verify: dict[str, Any] | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    callback_secret: str = ""  # whsec_...: signs callbacks; shown once
    version: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    def allows(self, method: str) -> bool:
        return not self.methods or method in self.methods

    def to_json(self, *, with_script: bool = True) -> dict[str, Any]:
        """The public view: secrets are never included, only their names."""
        data: dict[str, Any] = {
            "id": self.id,
            "mode": self.mode,
            "methods": list(self.methods),
            "response": self.response,
            "limits": self.limits.to_json(),
            "requestsToTrack": self.requests_to_track,
            "enabled": self.enabled,
            "isolation": self.isolation,
            "callbackUrl": self.callback_url,
            "idempotencyHeader": self.idempotency_header,
            "verify": _public_verify(self.verify),
            "secretNames": sorted(self.secrets),
            "version": self.version,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if with_script:
            data["script"] = self.script
        return data


def _public_verify(verify: dict[str, Any] | None) -> dict[str, Any] | None:
    if verify is None:
        return None
    return {k: v for k, v in verify.items() if k != "secret"}


def _expect(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise InvalidHook(name, message)


def _int_in(value: Any, name: str, low: int, high: int) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool), name, "must be an integer")
    _expect(low <= value <= high, name, f"must be between {low} and {high}")
    return value


def _parse_limits(raw: Any, settings: Settings) -> Limits:
    raw = {} if raw is None else raw
    _expect(isinstance(raw, dict), "limits", "must be an object")
    unknown = set(raw) - {"timeoutMs", "heapMb", "waitMs", "maxConcurrent"}
    _expect(not unknown, "limits", f"unknown field(s) {', '.join(sorted(unknown))}")
    s = settings
    return Limits(
        timeout_ms=_int_in(
            raw.get("timeoutMs", s.default_timeout_ms), "limits.timeoutMs", 1, s.max_timeout_ms
        ),
        heap_mb=_int_in(raw.get("heapMb", s.default_heap_mb), "limits.heapMb", 2, s.max_heap_mb),
        wait_ms=_int_in(raw.get("waitMs", s.default_wait_ms), "limits.waitMs", 0, s.max_wait_ms),
        max_concurrent=_int_in(
            raw.get("maxConcurrent", s.default_max_concurrent), "limits.maxConcurrent", 1, 10_000
        ),
    )


def _parse_response(raw: Any) -> dict[str, Any]:
    raw = {} if raw is None else raw
    _expect(isinstance(raw, dict), "response", "must be an object")
    unknown = set(raw) - {"statusCode", "headers", "body"}
    _expect(not unknown, "response", f"unknown field(s) {', '.join(sorted(unknown))}")
    if "statusCode" in raw:
        _int_in(raw["statusCode"], "response.statusCode", 100, 599)
    headers = raw.get("headers", {})
    _expect(isinstance(headers, dict), "response.headers", "must be an object")
    for name, value in headers.items():
        _expect(isinstance(value, str), f"response.headers.{name}", "must be a string")
    return dict(raw)


def parse_hook(hook_id: str, data: Any, settings: Settings) -> Hook:
    """Validate a hook definition (JSON, camelCase) and build a ``Hook``.

    The script's syntax is checked separately (``sandbox.check_syntax``): that
    needs V8, which this module must not load.
    """
    _expect(isinstance(data, dict), "body", "must be a JSON object")
    _expect(bool(_SLUG.match(hook_id)), "id", "must be a slug: a-z, 0-9, '-' or '_', 1-64 chars")
    _expect(data.get("id", hook_id) == hook_id, "id", "does not match the URL")
    unknown = set(data) - _KNOWN_FIELDS
    _expect(not unknown, "body", f"unknown field(s) {', '.join(sorted(unknown))}")

    script = data.get("script")
    _expect(script is None or isinstance(script, str), "script", "must be a string")
    _expect(script is None or len(script) <= 256 * 1024, "script", "is over 256 KiB")
    mode = data.get("mode", "async")
    _expect(mode in MODES, "mode", f"must be one of {', '.join(MODES)}")
    methods = data.get("methods") or []
    _expect(isinstance(methods, list), "methods", "must be a list")
    methods = [str(m).upper() for m in methods]
    bad = [m for m in methods if m not in HTTP_METHODS]
    _expect(not bad, "methods", f"unknown method(s) {', '.join(bad)}")
    isolation = data.get("isolation", "warm")
    _expect(isolation in ISOLATIONS, "isolation", f"must be one of {', '.join(ISOLATIONS)}")
    enabled = data.get("enabled", True)
    _expect(isinstance(enabled, bool), "enabled", "must be true or false")
    secrets = data.get("secrets") or {}
    _expect(isinstance(secrets, dict), "secrets", "must be an object of strings")
    for name, value in secrets.items():
        _expect(isinstance(value, str), f"secrets.{name}", "must be a string")
    callback_url = data.get("callbackUrl")
    _expect(
        callback_url is None
        or (isinstance(callback_url, str) and callback_url.startswith(("http://", "https://"))),
        "callbackUrl",
        "must be an http(s) URL",
    )
    idem = data.get("idempotencyHeader")
    _expect(idem is None or isinstance(idem, str), "idempotencyHeader", "must be a header name")
    verify = data.get("verify")
    _expect(verify is None or isinstance(verify, dict), "verify", "must be an object")
    if verify is not None:
        verify = validate_verify(verify)

    return Hook(
        id=hook_id,
        script=script,
        mode=mode,
        methods=tuple(dict.fromkeys(methods)),
        response=_parse_response(data.get("response")),
        limits=_parse_limits(data.get("limits"), settings),
        requests_to_track=_int_in(
            data.get("requestsToTrack", settings.default_requests_to_track),
            "requestsToTrack",
            0,
            settings.max_requests_to_track,
        ),
        enabled=enabled,
        isolation=isolation,
        callback_url=callback_url,
        idempotency_header=idem.lower() if idem else None,
        verify=verify,
        secrets=dict(secrets),
    )


class HookStore:
    """Hooks in Redis. Each script version is kept so a queued job runs the
    version it was accepted with, even if the hook changes meanwhile."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def get(self, hook_id: str) -> Hook:
        return self.get_with_etag(hook_id)[0]

    def get_with_etag(self, hook_id: str) -> tuple[Hook, str]:
        """The hook and the etag of its stored definition (see ``etag_of``)."""
        raw, etag = self._redis.hmget(keys.hook(hook_id), ["def", "etag"])
        if raw is None:
            raise HookNotFound(f"no hook named {hook_id!r}")
        return _hook_from_record(orjson.loads(raw)), etag.decode() if etag else etag_of(raw)

    def list(self) -> list[Hook]:
        ids = sorted(i.decode() for i in self._redis.smembers(keys.hook_ids()))
        if not ids:
            return []
        with self._redis.pipeline(transaction=False) as pipe:
            for hook_id in ids:
                pipe.hget(keys.hook(hook_id), "def")
            records = pipe.execute()
        return [_hook_from_record(orjson.loads(r)) for r in records if r is not None]

    def script(self, hook_id: str, version: int) -> str | None:
        raw = self._redis.get(keys.script(hook_id, version))
        return None if raw is None else raw.decode()

    def put(self, hook: Hook) -> tuple[Hook, bool]:
        """Create or replace; returns the stored hook and whether it was created.

        The version goes up only when the script or settings change, so loading
        the same file at every start-up leaves the version alone.
        """
        key = keys.hook(hook.id)
        now = time.time()
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, "def")
                    old = None if raw is None else _hook_from_record(orjson.loads(raw))
                    hook = replace(
                        hook, callback_secret=old.callback_secret if old else new_callback_secret()
                    )
                    if old is not None and _same(old, hook):
                        pipe.unwatch()
                        return old, False
                    stored = _with_meta(hook, old, now)
                    pipe.multi()
                    pipe.hset(key, mapping=_stored_fields(stored))
                    pipe.sadd(keys.hook_ids(), hook.id)
                    if stored.script is not None:
                        pipe.set(keys.script(hook.id, stored.version), stored.script)
                    pipe.execute()
                    return stored, old is None
                except redis.WatchError:
                    continue

    def rotate_secret(self, hook_id: str) -> str:
        """Replace the callback signing secret; returns the new one (shown once)."""
        key = keys.hook(hook_id)
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, "def")
                    if raw is None:
                        raise HookNotFound(f"no hook named {hook_id!r}")
                    hook = replace(
                        _hook_from_record(orjson.loads(raw)),
                        callback_secret=new_callback_secret(),
                        updated_at=time.time(),
                    )
                    pipe.multi()
                    pipe.hset(key, mapping=_stored_fields(hook))
                    pipe.execute()
                    return hook.callback_secret
                except redis.WatchError:
                    continue

    def delete(self, hook_id: str) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.hook(hook_id))
            pipe.srem(keys.hook_ids(), hook_id)
            removed = pipe.execute()[0]
        if not removed:
            raise HookNotFound(f"no hook named {hook_id!r}")


def etag_of(stored_def: bytes) -> str:
    """SHA-1 in hex of a stored definition, stored beside it as ``etag`` so a
    Lua call can tell cheaply whether a hook changed (for a hook stored
    without one, the Lua computes the same with ``redis.sha1hex``)."""
    return hashlib.sha1(stored_def, usedforsecurity=False).hexdigest()


def _stored_fields(hook: Hook) -> dict[str, bytes | str]:
    raw = orjson.dumps(_record(hook))
    return {"def": raw, "etag": etag_of(raw)}


def new_callback_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(_secrets.token_bytes(24)).decode()


def _with_meta(hook: Hook, old: Hook | None, now: float) -> Hook:
    values = asdict(hook)
    values["limits"] = hook.limits
    values["version"] = 1 if old is None else old.version + 1
    values["created_at"] = now if old is None else old.created_at
    values["updated_at"] = now
    return Hook(**values)


def _same(a: Hook, b: Hook) -> bool:
    meta = {"version": 0, "created_at": 0.0, "updated_at": 0.0}
    return {**asdict(a), **meta} == {**asdict(b), **meta}


def _record(hook: Hook) -> dict[str, Any]:
    data = asdict(hook)
    data["methods"] = list(hook.methods)
    return data


def _hook_from_record(data: dict[str, Any]) -> Hook:
    data["limits"] = Limits(**data["limits"])
    data["methods"] = tuple(data["methods"])
    return Hook(**data)
