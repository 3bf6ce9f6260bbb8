"""A hook's definition: what a hook is (``Hook``, its ``Limits``), its public
JSON view and the record stored for it in Redis.

Apart from ``hooks.py`` (the store: versions, etags, transactions), since
drafts, revisions and switches read and write the same record without the
store. Validation of a definition is ``workers/hook_validation.py``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Hook", "Limits", "record", "hook_from_record"]


@dataclass(frozen=True)
class Limits:
    timeout_ms: int
    heap_mb: int
    wait_ms: int
    max_concurrent: int
    # Async events queued at most (429 past it); None (hooks stored before
    # there was a cap): the operator's default, settings.max_queued_per_hook.
    max_queued: int | None = None

    def to_json(self) -> dict[str, int | None]:
        return {
            "timeoutMs": self.timeout_ms,
            "heapMb": self.heap_mb,
            "waitMs": self.wait_ms,
            "maxConcurrent": self.max_concurrent,
            "maxQueued": self.max_queued,
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
    retention_s: int | None = None  # None: settings.retention_s
    isolation: str = "warm"
    project: str = "default"  # its owner; hooks stored before projects: default
    callback_url: str | None = None
    # ``callback.ratePerS``: calls per second to the callback's destination
    # at most (a token bucket shared by every callback worker); None: no cap.
    callback_rate_per_s: float | None = None
    idempotency_header: str | None = None
    verify: dict[str, Any] | None = None
    # X-Hooklet-Job and Server-Timing on sync answers: off unless asked for,
    # since they hand any caller the job (its logs) and the script's timing.
    debug_headers: bool = False
    secrets: dict[str, str] = field(default_factory=dict)
    route: dict[str, str] | None = None  # {host, path, pathType}: served there too
    trace: dict[str, bool] = field(default_factory=dict)  # {continueIncoming, propagate}
    # {key, onFailure, missing}: one event per key at a time (workers/ordering.py)
    ordering: dict[str, str] | None = None
    # ``shadow.sample``: the share of live events the draft also runs on, on
    # the live run's tape (workers/shadow); None: no shadow runs.
    shadow_sample: float | None = None
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
            "project": self.project,
            "mode": self.mode,
            "methods": list(self.methods),
            "response": self.response,
            "limits": self.limits.to_json(),
            "requestsToTrack": self.requests_to_track,
            "retentionS": self.retention_s,
            "enabled": self.enabled,
            "isolation": self.isolation,
            "callbackUrl": self.callback_url,
            "callback": {"ratePerS": self.callback_rate_per_s},
            "idempotencyHeader": self.idempotency_header,
            "verify": _public_verify(self.verify),
            "route": self.route,
            "debugHeaders": self.debug_headers,
            "trace": {"continueIncoming": False, "propagate": False, **self.trace},
            "ordering": self.ordering,
            "shadow": None if self.shadow_sample is None else {"sample": self.shadow_sample},
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


def record(hook: Hook) -> dict[str, Any]:
    """The JSON-ready record stored as a hook's ``def`` (and its revisions)."""
    data = asdict(hook)
    data["methods"] = list(hook.methods)
    return data


def hook_from_record(data: dict[str, Any]) -> Hook:
    """The hook a stored record (``record``'s output, JSON-decoded) describes."""
    data["limits"] = Limits(**data["limits"])
    data["methods"] = tuple(data["methods"])
    return Hook(**data)
