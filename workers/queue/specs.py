"""What a job runs: the script spec of a hook's version, or of an inline test
run, resolved from the store and cached per worker child."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from workers.settings import Settings
from workers.store.hooks import HookStore

__all__ = ["ScriptSpec", "SpecCache", "inline_spec"]

_CACHE_SIZE = 256
_TTL_S = 2.0  # how soon a deleted hook is noticed


@dataclass(frozen=True)
class ScriptSpec:
    """What to run for a job: a stored hook's version, or an inline test script."""

    hook_id: str
    version: int
    source: str | None
    response: dict[str, Any]
    secrets: dict[str, str]
    timeout_ms: int
    heap_mb: int
    fresh: bool
    mode: str = "async"
    callback_url: str | None = None
    trace_propagate: bool = False  # traceparent on the script's requests (workers/tracing)
    tape: dict[str, Any] | None = None  # a try run's: the recorded event's tape to play
    shadow_sample: float = 0.0  # share of its events the hook's draft shadows (workers/shadow)


class SpecCache:
    """Resolves a job's spec. A hook version never changes once written, so
    specs are cached; a deleted hook is noticed within ``_TTL_S``."""

    def __init__(self, hooks: HookStore, settings: Settings) -> None:
        self._hooks = hooks
        self._settings = settings
        self._specs: dict[tuple[str, int], tuple[float, ScriptSpec]] = {}

    def for_job(self, raw: dict[bytes, bytes]) -> ScriptSpec:
        """The job's spec; raises ``LookupError`` if its hook or version is gone."""
        _check_hook_alive(raw)
        if b"inline" in raw:
            return self._inline(orjson.loads(raw[b"inline"]))
        return self._hook_spec(raw[b"hookId"].decode(), int(raw[b"version"]))

    def _inline(self, inline: dict[str, Any]) -> ScriptSpec:
        return inline_spec(inline, self._settings)

    def _hook_spec(self, hook_id: str, version: int) -> ScriptSpec:
        key = (hook_id, version)
        cached = self._specs.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        hook = self._hooks.get(hook_id)
        source = hook.script if version == hook.version else self._hooks.script(hook_id, version)
        if source is None and hook.script is not None:
            raise LookupError(f"version {version} of hook {hook_id!r} no longer exists")
        spec = ScriptSpec(
            hook_id=hook_id,
            version=version,
            source=source,
            response=hook.response,
            secrets=hook.secrets,
            timeout_ms=hook.limits.timeout_ms,
            heap_mb=hook.limits.heap_mb,
            fresh=hook.isolation == "fresh",
            mode=hook.mode,
            callback_url=hook.callback_url,
            trace_propagate=hook.trace.get("propagate", False),
            shadow_sample=hook.shadow_sample or 0.0,
        )
        if len(self._specs) >= _CACHE_SIZE:
            self._specs.clear()
        self._specs[key] = (time.monotonic() + _TTL_S, spec)
        return spec


def inline_spec(inline: dict[str, Any], settings: Settings) -> ScriptSpec:
    """The spec of an inline run (a test or try run's job, a shadow run)."""
    limits = inline.get("limits", {})
    return ScriptSpec(
        hook_id=inline.get("hookId", ""),
        version=int(inline.get("version", 0)),
        source=inline.get("script"),
        response=inline.get("response", {}),
        secrets=inline.get("secrets", {}),
        timeout_ms=limits.get("timeoutMs", settings.default_timeout_ms),
        heap_mb=limits.get("heapMb", settings.default_heap_mb),
        fresh=True,
        tape=inline.get("tape"),
    )


def _check_hook_alive(raw: dict[bytes, bytes]) -> None:
    """Refuse a job of a deleted hook, even when a hook with the same id exists
    again: the job store's begin step reads the stored hook's first version
    (``hookSince``; empty when there is no hook) in the same atomic call, and a
    job below it was accepted by the deleted one. Checked before any cached
    spec is used, so nothing of the old hook runs."""
    since = raw.get(b"hookSince")
    if since is None:
        return
    hook_id = raw.get(b"hookId", b"").decode()
    if not since or int(raw.get(b"version") or 0) < int(since):
        raise LookupError(f"hook {hook_id!r} was deleted after this event was accepted")
