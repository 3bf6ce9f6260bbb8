"""What a job is made of: its status, why it failed, the event it carries and
how its run ended. Plain values, shared by the intake, the workers and the
job store (``jobs.py``)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "JobStatus",
    "FailureReason",
    "DeliveryStatus",
    "EventRequest",
    "Outcome",
    "new_job_id",
    "encode_body",
]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class DeliveryStatus(StrEnum):
    """Where a job's callback delivery stands."""

    PENDING = "pending"  # queued, or waiting for its next retry
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries ran out, or the receiver answered 410 Gone


class FailureReason(StrEnum):
    ERROR = "error"  # the script threw, or returned something unusable
    TIMEOUT = "timeout"  # the script ran past its time limit
    MEMORY = "memory"  # heap limit or the child's RSS cap
    CRASHED = "crashed"  # the worker child died under it, too many times
    OUTPUT = "output"  # the result body was over the limit
    HOOK_GONE = "hook_gone"  # the hook or its script version was deleted


def new_job_id() -> str:
    """128 random bits: ``/jobs/<id>`` is a capability URL."""
    return secrets.token_hex(16)


def encode_body(body: bytes) -> tuple[str, str]:
    """Body as text when it is UTF-8, else base64; returns (body, encoding)."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


@dataclass(frozen=True)
class EventRequest:
    """What the sender sent, as the script's ``context`` sees it."""

    method: str
    path: str
    raw_query: str | None  # None: the URL had no '?'
    query: dict[str, str]
    headers: dict[str, str]
    client_address: str
    body: bytes

    def meta_json(self) -> bytes:
        return orjson.dumps(
            {
                "method": self.method,
                "path": self.path,
                "rawQuery": self.raw_query,
                "query": self.query,
                "headers": self.headers,
                "clientAddress": self.client_address,
            }
        )

    def fingerprint(self) -> str:
        """SHA-256 of method, path, query and body: what must match, besides
        the idempotency key, for a request to be a retry of an earlier one."""
        digest = hashlib.sha256()
        for part in (self.method, self.path, self.raw_query or ""):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(self.body)
        return digest.hexdigest()

    @classmethod
    def from_record(cls, meta: bytes, body: bytes) -> EventRequest:
        m = orjson.loads(meta)
        return cls(
            method=m["method"],
            path=m["path"],
            raw_query=m.get("rawQuery"),
            query=m["query"],
            headers=m["headers"],
            client_address=m["clientAddress"],
            body=body,
        )


@dataclass(frozen=True)
class Outcome:
    """How a run ended: a result, or a failure with its reason and text."""

    status: JobStatus
    duration_ms: float
    logs: list[dict[str, str]]
    result: dict[str, Any] | None = None  # statusCode, headers, body (bytes)
    reason: FailureReason | None = None
    error: str | None = None
    heap_used_bytes: int | None = None
    outbound: list[dict[str, Any]] | None = None  # the script's outbound requests
    skip_request: bool = False  # secutils' skipRequest: leave the hook's history

    def fields(self, finished_at: float, *, delivery: bool) -> dict[str, Any]:
        """The job's fields this outcome writes (``delivery``: a callback is
        queued with it)."""
        fields: dict[str, Any] = {
            "status": self.status.value,
            "finishedAt": finished_at,
            "durationMs": round(self.duration_ms, 3),
            "logs": orjson.dumps(self.logs),
        }
        if self.result is not None:
            result = dict(self.result)
            body = result.pop("body", b"")
            fields["result"] = orjson.dumps(result)
            fields["resultBody"] = body
        if self.reason is not None:
            fields["reason"] = self.reason.value
        if self.error is not None:
            fields["error"] = self.error
        if self.outbound:
            fields["outbound"] = orjson.dumps(self.outbound)
        if self.heap_used_bytes is not None:
            fields["heapUsedBytes"] = self.heap_used_bytes
        if delivery:
            fields["deliveryStatus"] = DeliveryStatus.PENDING.value
        return fields
