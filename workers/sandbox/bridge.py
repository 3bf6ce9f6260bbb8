"""The bridge from a script's host calls to Python.

A script's ``fetch``, ``secutils.kv.*``, ``seal`` and ``crypto.subtle`` calls
queue in the runtime (js/01_prelude.js) and come back to the host with the
script's state between evaluations. Each is answered here, in the worker
child, one at a time, under the script's own deadline: the watchdog and the
time limit end a script that waits on the network as they end one that spins.
Bytes go both ways through ArrayBuffers the host reads or fills in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from workers.sandbox.wire import UnreadableOutput

__all__ = ["HostCallError", "HostHandler", "HostReply", "buffer_bytes", "serve_calls"]


class HostCallError(Exception):
    """A host call failed: the script's promise rejects with this text
    (``error_type`` names the JS error class: Error, TypeError, RangeError)."""

    def __init__(self, message: str, error_type: str = "Error") -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True)
class HostReply:
    value: Any = None  # JSON-able; with ``body``, an object that gains ``body``
    body: bytes | None = None


class HostHandler(Protocol):
    def handle(self, op: str, args: Any, body: bytes | None, deadline: float) -> HostReply:
        """Answer one call; raise ``HostCallError`` to reject it."""
        ...


class _Isolate(Protocol):
    def call(self, command: str, arg: Any, deadline: float) -> Any: ...
    def check(self) -> None: ...


def buffer_bytes(value: Any) -> bytes:
    """The bytes of an ArrayBuffer the runtime handed over. What the runtime
    hands back passes through builtins a script can replace (a ``buffer``
    getter, ``Map.prototype.get``), so anything else (a number would make
    ``bytes(n)`` allocate n bytes here) is refused."""
    if not isinstance(value, memoryview):
        raise UnreadableOutput(f"expected bytes from the runtime, got {type(value).__name__}")
    return bytes(value)


def serve_calls(isolate: _Isolate, calls: Any, host: HostHandler | None, deadline: float) -> None:
    """Answer every queued call and settle its promise in the isolate."""
    if not isinstance(calls, list):
        return
    for call in calls:
        if not isinstance(call, dict) or type(call.get("id")) is not int:
            continue  # the queue is the runtime's; a script may still reach it
        call_id = call["id"]
        body = None
        if call.get("body"):
            view = isolate.call("callBody", call_id, deadline)
            body = b"" if view is None else buffer_bytes(view)
        message: dict[str, Any] = {"id": call_id}
        try:
            if host is None:
                raise HostCallError("host calls are not available here")
            reply = host.handle(str(call.get("op")), call.get("args"), body, deadline)
        except HostCallError as exc:
            message["error"] = str(exc)
            message["errorType"] = exc.error_type
        else:
            message["value"] = reply.value
            if reply.body is not None:
                message["bytes"] = len(reply.body)
                if reply.body:
                    buffer = isolate.call("alloc", len(reply.body), deadline)
                    if not isinstance(buffer, memoryview) or len(buffer) != len(reply.body):
                        raise UnreadableOutput("the runtime's buffer for a reply was replaced")
                    buffer[:] = reply.body
        isolate.check()  # interrupted (watchdog) while the call ran
        isolate.call("deliver", orjson.dumps(message).decode(), deadline)
