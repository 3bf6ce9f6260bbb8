"""What a job is made of: its status, why it failed, the event it carries and
how its run ended. Plain values, shared by the intake, the workers and the
job store (``jobs/store.py``).

This is also where a job's big values are encoded for Redis: ``packed``
stores a value over ``ZSTD_MIN_BYTES`` zstd-compressed under ``<name>Z``
(when that saves at least a tenth), ``unpacked`` reads either form. Every
reader goes through ``unpacked`` (``EventRequest.from_job``, ``job_view``,
``result_body``), so none ever sees compressed bytes."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import zstandard

__all__ = [
    "JobStatus",
    "FailureReason",
    "DeliveryStatus",
    "EventRequest",
    "Outcome",
    "new_job_id",
    "encode_body",
    "packed",
    "unpacked",
    "result_body",
    "ZSTD_MIN_BYTES",
]

# Below this a value stays plain: zstd's frame costs more than it saves, and
# small hashes stay in Redis's compact listpack encoding anyway.
ZSTD_MIN_BYTES = 256
_ZSTD_LEVEL = 3
_codecs = threading.local()  # zstd contexts are not safe to share between threads


def _compressor() -> zstandard.ZstdCompressor:
    codec = getattr(_codecs, "compressor", None)
    if codec is None:
        codec = _codecs.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
    return codec


def _decompressor() -> zstandard.ZstdDecompressor:
    codec = getattr(_codecs, "decompressor", None)
    if codec is None:
        codec = _codecs.decompressor = zstandard.ZstdDecompressor()
    return codec


def packed(name: str, value: bytes) -> tuple[str, bytes]:
    """The (field, value) to store for a job's value ``name``: compressed
    under ``<name>Z`` when it is big and compresses, else as it is."""
    if len(value) >= ZSTD_MIN_BYTES:
        small = _compressor().compress(value)
        if len(small) * 10 <= len(value) * 9:
            return name + "Z", small
    return name, value


def unpacked(raw: dict[bytes, bytes], name: str) -> bytes | None:
    """A job's value ``name`` as it was given to ``packed`` (None if absent)."""
    value = raw.get(name.encode())
    if value is not None:
        return value
    small = raw.get(name.encode() + b"Z")
    return None if small is None else _decompressor().decompress(small)


_ECHO = "resultBodyIsRequestBody"  # set instead of a copy of the request's body


def result_body(raw: dict[bytes, bytes]) -> bytes:
    """The body of a finished job's result (b'' without one)."""
    if _ECHO.encode() in raw:
        return unpacked(raw, "body") or b""
    return unpacked(raw, "resultBody") or b""


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

    def fields(self) -> dict[str, bytes]:
        """The job fields that hold this request (see ``packed``)."""
        return dict([packed("request", self.meta_json()), packed("body", self.body)])

    @classmethod
    def from_job(cls, raw: dict[bytes, bytes]) -> EventRequest:
        """The request a stored job carries."""
        return cls.from_record(unpacked(raw, "request") or b"{}", unpacked(raw, "body") or b"")

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
    tape: bytes | None = None  # the run's tape, JSON (sandbox/tape.py)
    tape_skipped: str | None = None  # why the run has no tape: not replayable
    replay: dict[str, Any] | None = None  # a try run's: the call its tape lacked

    def fields(
        self, finished_at: float, *, delivery: bool, request_body: bytes | None = None
    ) -> dict[str, Any]:
        """The job's fields this outcome writes (``delivery``: a callback is
        queued with it). A result body equal to ``request_body`` (the job's
        own, e.g. an echo) is not stored twice: it can be derived."""
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
            if len(body) >= ZSTD_MIN_BYTES and body == request_body:
                fields[_ECHO] = 1
            else:
                fields.update([packed("resultBody", body)])
        if self.reason is not None:
            fields["reason"] = self.reason.value
        if self.error is not None:
            fields["error"] = self.error
        if self.outbound:
            fields["outbound"] = orjson.dumps(self.outbound)
        if self.heap_used_bytes is not None:
            fields["heapUsedBytes"] = self.heap_used_bytes
        if self.tape is not None:
            fields.update([packed("tape", self.tape)])
        elif self.tape_skipped is not None:
            fields["replayable"] = 0
            fields["tapeSkipped"] = self.tape_skipped
        if self.replay is not None:
            fields["replay"] = orjson.dumps(self.replay)
        if delivery:
            fields["deliveryStatus"] = DeliveryStatus.PENDING.value
        return fields
