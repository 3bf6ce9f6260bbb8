"""A run's tape (issue 25): what reached the script from outside its isolate,
in order, so that a draft can be tried on a recorded event with nothing
leaving the sandbox.

A live run wraps its ``HostCalls`` in a ``TapeRecorder``: every host call's
answer (fetch / proxy responses, KV reads and the outcome of KV writes,
``seal``) is recorded with the call's key. The runtime (js/30_tape.js)
reports the clock values the script read, whether it used randomness
(then the run's seed is kept) and, when a timer fired, the order in which
timers fired and host calls were answered. ``encode`` gives the tape as JSON (the job
stores it zstd-compressed as ``tapeZ`` when that pays), or why it is not kept.

A try run answers the script's calls from the tape with a ``TapePlayer``:
the n-th call with a given key gets the n-th answer recorded under that key;
a call the tape does not have rejects, and the run is marked diverged.
Digests and HMACs are pure, so they are computed again rather than recorded.
"""

from __future__ import annotations

import base64
import threading
from collections import deque
from typing import Any

import orjson
import zstandard

from workers.delivery.egress import loggable_url
from workers.sandbox import crypto
from workers.sandbox.bridge import HostCallError, HostHandler, HostReply
from workers.sandbox.wire import read_json

__all__ = [
    "TapeRecorder",
    "TapePlayer",
    "encode",
    "decode",
    "call_key",
    "replay_context",
    "tape_at_timeout",
    "with_context_read",
]

_PURE = ("crypto.digest", "crypto.hmac")
_FORMAT = 1
_codecs = threading.local()  # zstd contexts are not shareable between threads


def call_key(op: str, args: Any) -> tuple[str, str]:
    """(the key a call is matched by, how a person reads it)."""
    fields: dict[str, Any] = args if isinstance(args, dict) else {}
    if op in ("fetch", "proxy"):
        method = str(fields.get("method", "GET")).upper()
        url = str(fields.get("url", ""))
        return f"{op} {method} {url}", f"{op} {method} {loggable_url(url)}"
    if op in ("kv.get", "kv.set", "kv.delete"):
        key = f"{op} {fields.get('key', '')}"
        return key, key
    key = f"{op} {orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()}"
    return key, key[:200]


class TapeRecorder:
    """A ``HostHandler`` that records what ``inner`` answered, in order."""

    def __init__(self, inner: HostHandler) -> None:
        self._inner = inner
        self.calls: list[dict[str, Any]] = []
        self.body_bytes = 0

    def handle(self, op: str, args: Any, body: bytes | None, deadline: float) -> HostReply:
        if op in _PURE:
            return self._inner.handle(op, args, body, deadline)
        entry: dict[str, Any] = {"key": call_key(op, args)[0]}
        try:
            reply = self._inner.handle(op, args, body, deadline)
        except HostCallError as exc:
            entry.update(error=str(exc), errorType=exc.error_type)
            self.calls.append(entry)
            raise
        entry["value"] = reply.value
        if reply.body is not None:
            entry["body"] = base64.b64encode(reply.body).decode()
            self.body_bytes += len(reply.body)
        self.calls.append(entry)
        return reply

    def tape(self, runtime: dict[str, Any] | None) -> dict[str, Any] | None:
        """The whole tape (None when nothing came from outside)."""
        if not self.calls and not runtime:
            return None
        tape: dict[str, Any] = {"v": _FORMAT, "calls": self.calls}
        for name in ("clock", "origin", "seed", "order", "timedOut", "traceparent", "over"):
            if runtime and runtime.get(name):
                tape[name] = runtime[name]
        return tape


def encode(tape: dict[str, Any], max_bytes: int) -> tuple[bytes | None, str | None]:
    """(the tape as JSON, None), or (None, why it is not kept). The cap is on
    what the job stores: the tape compressed (``records.packed``), which is
    worked out only for a tape over the cap as it is."""
    if tape.get("over"):
        return None, (
            "the script read the clock, or its timers and host calls took turns, "
            "more than 4096 times"
        )
    raw = orjson.dumps(tape)
    if len(raw) <= max_bytes:
        return raw, None
    size = len(raw) if len(raw) > max_bytes * 32 else len(_compressor().compress(raw))
    if size > max_bytes:
        return None, (f"the tape is {size} bytes compressed, over "
                      f"HOOKLET_TAPE_MAX_BYTES ({max_bytes} bytes)")  # fmt: skip
    return raw, None


def decode(raw: bytes) -> dict[str, Any]:
    return orjson.loads(raw)


def _compressor() -> zstandard.ZstdCompressor:
    codec = getattr(_codecs, "compressor", None)
    if codec is None:
        codec = _codecs.compressor = zstandard.ZstdCompressor(level=3)
    return codec


class TapePlayer:
    """A ``HostHandler`` that answers from a tape and never reaches anything."""

    def __init__(self, tape: dict[str, Any]) -> None:
        self._answers: dict[str, deque[dict[str, Any]]] = {}
        for entry in tape.get("calls", []):
            self._answers.setdefault(entry["key"], deque()).append(entry)
        self.steps = 0
        self.diverged: dict[str, Any] | None = None  # the first call the tape lacked

    def handle(self, op: str, args: Any, body: bytes | None, deadline: float) -> HostReply:
        if op in _PURE:
            return _pure(op, args, body or b"")
        self.steps += 1
        key, shown = call_key(op, args)
        queue = self._answers.get(key)
        if not queue:
            if self.diverged is None:
                self.diverged = {"step": self.steps, "call": shown}
            raise HostCallError(f"hooklet try: {shown} is not on the recorded event's tape")
        entry = queue.popleft()
        if "error" in entry:
            raise HostCallError(entry["error"], entry.get("errorType", "Error"))
        data = entry.get("body")
        return HostReply(entry.get("value"), None if data is None else base64.b64decode(data))

    def replay_args(self, tape: dict[str, Any]) -> dict[str, Any]:
        """What ``isolate.run_script`` takes as ``replay``."""
        keep = ("clock", "origin", "seed", "order", "timedOut", "traceparent")
        return {k: tape[k] for k in keep if k in tape}


def tape_at_timeout(raw: Any, seed: bytes) -> dict[str, Any] | None:
    """The runtime tape of a run that ran out of time waiting (on a call, a
    timer; ``raw``: the runtime's report), so that a replay ends where it
    did. One stopped while computing cannot say (its isolate is poisoned)."""
    tape = read_json(raw) if isinstance(raw, str) else None
    if not isinstance(tape, dict):
        return None
    return {**tape, "timedOut": True, **({"seed": seed.hex()} if tape.get("random") else {})}


def with_context_read(tape: dict[str, Any] | None, context: dict[str, Any]) -> Any:
    """A live run's runtime tape with what its context held that a replay's
    would not: ``traceparent``, the run's own span (tracing on)."""
    traceparent = context.get("traceparent")
    return tape if not traceparent else {**(tape or {}), "traceparent": traceparent}


def replay_context(context: dict[str, Any], replay: dict[str, Any]) -> dict[str, Any]:
    """A replay's context as the live run's was: its ``traceparent`` (or none)."""
    out = {k: v for k, v in context.items() if k != "traceparent"}
    if replay.get("traceparent"):
        out["traceparent"] = replay["traceparent"]
    return out


def _pure(op: str, args: Any, body: bytes) -> HostReply:
    name = args.get("hash") if isinstance(args, dict) else None
    if not crypto.hash_known(name):
        raise HostCallError(f"NotSupportedError: unsupported hash {name!r}")
    if op == "crypto.digest":
        return HostReply(body=crypto.digest(name, body))
    key_length = args.get("keyLength")
    if not isinstance(key_length, int) or not 0 < key_length <= len(body):
        raise HostCallError("DataError: bad HMAC key")
    return HostReply(body=crypto.hmac_sign(name, body[:key_length], body[key_length:]))
