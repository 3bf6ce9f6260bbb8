"""The V8 sandbox: the only module that talks to mini-racer.

An ``Isolate`` is one mini-racer context with hooklet's runtime installed.
Every evaluation on it is cancelable and bounded by a deadline, because
mini-racer's own promise helpers block for good when the isolate spins
(see shared/DESIGN.md, "Known traps"). Isolates must be created in worker
children only: nothing here touches V8 at import time.

Evaluations start V8 tasks through mini-racer's context directly and wait for
the result on its result queue, with a timeout. mini-racer's public ``eval``
and ``eval_cancelable`` both go through its asyncio loop thread, which costs
about 0.2 ms of CPU per call in thread hand-offs; this path costs less than
0.1 ms. It uses mini-racer internals, so mini-racer's version is pinned
exactly (pyproject.toml), and tests/workers/test_sandbox.py covers it.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson
from py_mini_racer import JSEvalException, JSOOMException  # no V8 until a MiniRacer exists
from py_mini_racer._context import (
    _UNCANCELABLE_TASK_CALLBACK_ID as _RESULT_QUEUE_CALLBACK,  # results go to its queue
)
from py_mini_racer._exc import JSTerminatedException

from workers.store.job_records import FailureReason

__all__ = ["Isolate", "RunLimits", "RunResult", "check_syntax", "run_script"]

_RUNTIME_JS = resources.files("workers.sandbox").joinpath("runtime.js").read_text("utf-8")
_POLL_SLEEPS_S = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01)
_WAKE_UP = object()  # put on the result queue by ``interrupt``


class _Interrupted(Exception):
    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RunLimits:
    timeout_ms: int
    heap_mb: int
    max_log_lines: int = 100
    max_log_bytes: int = 16 * 1024
    max_result_bytes: int = 1024 * 1024


@dataclass
class RunResult:
    """What the script produced. On failure ``reason`` and ``error`` are set."""

    duration_ms: float
    logs: list[dict[str, str]] = field(default_factory=list)
    logs_dropped: int = 0
    status_code: int | None = None
    headers: dict[str, str] | None = None
    body: bytes | None = None
    body_is_json: bool = False
    idle: bool = False  # nothing the script queued (timers) is still pending
    pristine: bool = False  # the script left every builtin as it found it
    reason: FailureReason | None = None
    error: str | None = None
    input_bytes: int = 0  # the size of the context (request) handed to V8

    @property
    def ok(self) -> bool:
        return self.reason is None


class Isolate:
    """One V8 isolate with hooklet's runtime. Not thread-safe: one owner thread
    evaluates; any thread may ``interrupt``."""

    def __init__(self, heap_mb: int) -> None:
        from py_mini_racer import MiniRacer  # imported late: V8 starts in children only

        self._mr = MiniRacer()
        self._ctx = self._mr._ctx  # noqa: SLF001 - see the module docstring
        self._results: queue.Queue[Any] = self._ctx._non_cancelable_mr_task_results_queue  # noqa: SLF001
        self._mr.set_hard_memory_limit(heap_mb * 1024 * 1024)
        self._task: int | None = None
        self._interrupt: _Interrupted | None = None
        self._lock = threading.Lock()
        self.heap_mb = heap_mb
        self.uses = 0
        self.last_heap_bytes: int | None = None
        self.closed = False
        self.poisoned = False  # set when it must not run another script
        self.eval(_RUNTIME_JS, time.monotonic() + 30)

    def eval(self, code: str, deadline: float) -> Any:
        """Evaluate ``code``; raise ``_Interrupted`` on timeout, OOM or interrupt.

        Only one evaluation is ever in flight, so the next item on the result
        queue is its result. After a timeout or an interrupt the isolate is
        poisoned and refuses further evaluations: a late result may still
        arrive, and no one reads it."""
        if self.poisoned:  # a late result of a cancelled eval may still be queued
            raise self._interrupt or _Interrupted(FailureReason.TIMEOUT, "isolate retired")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Interrupted(FailureReason.TIMEOUT, "script timed out")
        ctx = self._ctx
        code_handle = ctx._python_to_value_handle(code)  # noqa: SLF001 - alive until the result
        with self._lock:
            if self._interrupt is not None:
                raise self._interrupt
            self._task = ctx._dll.mr_eval(ctx._ctx, code_handle.raw, _RESULT_QUEUE_CALLBACK)  # noqa: SLF001
        try:
            reply = self._results.get(timeout=remaining)
        except queue.Empty:
            self._cancel()
            raise _Interrupted(FailureReason.TIMEOUT, "script timed out") from None
        finally:
            with self._lock:
                self._task = None
        if reply is _WAKE_UP:
            raise self._interrupt or _Interrupted(FailureReason.TIMEOUT, "script interrupted")
        try:
            return ctx._value_handle_to_python(reply)  # noqa: SLF001
        except JSTerminatedException as exc:
            self.poisoned = True
            raise self._interrupt or _Interrupted(
                FailureReason.TIMEOUT, "script interrupted"
            ) from exc
        except JSOOMException as exc:
            self.poisoned = True  # the hard-limit flag is sticky
            if self._interrupt is not None:
                raise self._interrupt from exc
            raise _Interrupted(
                FailureReason.MEMORY, f"script exceeded its heap limit of {self.heap_mb} MB"
            ) from exc
        except JSEvalException:
            if self._interrupt is not None:
                raise self._interrupt from None
            raise

    def _cancel(self) -> None:
        self.poisoned = True
        with self._lock:
            task = self._task
        if task is not None:
            self._ctx._dll.mr_cancel_task(self._ctx._ctx, task)  # noqa: SLF001

    def interrupt(self, reason: FailureReason, message: str) -> None:
        """Stop the running evaluation from another thread (the RSS watchdog)."""
        with self._lock:
            self._interrupt = _Interrupted(reason, message)
            self.poisoned = True
            task = self._task
        if task is not None:
            self._ctx._dll.mr_cancel_task(self._ctx._ctx, task)  # noqa: SLF001
            self._results.put(_WAKE_UP)  # the owner returns even if V8 does not stop
        # Ends an allocating script at its next GC even if cancel cannot.
        self._mr.set_hard_memory_limit(1)

    def heap_used_bytes(self, *, collect: bool = False) -> int:
        """V8 heap in use (garbage included unless ``collect``). Call only when
        idle: mini-racer cannot cancel it. About half a millisecond."""
        if collect:
            self._mr.low_memory_notification()
        self.last_heap_bytes = int(self._mr.heap_stats()["used_heap_size"])
        return self.last_heap_bytes

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._mr.close()


def run_script(
    isolate: Isolate, source: str, context: dict[str, Any], limits: RunLimits
) -> RunResult:
    """Run ``source`` with the global ``context``; the value (awaited) is the result."""
    started = time.monotonic()
    deadline = started + limits.timeout_ms / 1000
    isolate.uses += 1
    log_limits = {"lines": limits.max_log_lines, "bytes": limits.max_log_bytes}
    context_json = orjson.dumps(context)
    begin = (
        b"__hooklet.begin("
        + context_json
        + b","
        + orjson.dumps(log_limits)
        + b");__hooklet.run("
        + orjson.dumps(source)
        + b");"
    )
    try:
        isolate.eval(begin.decode(), deadline)
        meta, body = _await_outcome(isolate, deadline)
    except _Interrupted as exc:
        result = RunResult(_ms_since(started), reason=exc.reason, error=str(exc))
    else:
        result = _to_result(meta, body, _ms_since(started), limits)
    result.input_bytes = len(context_json)
    return result


def _await_outcome(isolate: Isolate, deadline: float) -> tuple[dict[str, Any], bytes | None]:
    # Promise callbacks and timers run between evaluations, so poll briefly;
    # a plain async IIFE is settled by the first take().
    attempt = 0
    while True:
        raw = isolate.eval("__hooklet.take()", deadline)
        if isinstance(raw, str):
            break
        time.sleep(_POLL_SLEEPS_S[min(attempt, len(_POLL_SLEEPS_S) - 1)])
        attempt += 1
    meta = orjson.loads(raw)
    body = None
    if "bytes" in meta:
        view = isolate.eval("__hooklet.takeBytes()", deadline)
        body = bytes(view)
    return meta, body


def _to_result(
    meta: dict[str, Any], body: bytes | None, duration_ms: float, limits: RunLimits
) -> RunResult:
    result = RunResult(
        duration_ms,
        logs=meta.get("logs", []),
        logs_dropped=meta["logsDropped"],
        idle=meta["idle"],
        pristine=meta["pristine"],
    )
    if not meta["ok"]:
        result.reason = FailureReason.MEMORY if meta.get("memory") else FailureReason.ERROR
        result.error = meta["error"]
        return result
    result.status_code = meta.get("statusCode")
    result.headers = meta.get("headers")
    if "text" in meta:
        body = meta["text"].encode("utf-8")
        result.body_is_json = bool(meta.get("json"))
    if body is not None and len(body) > limits.max_result_bytes:
        result.reason = FailureReason.OUTPUT
        result.error = (
            f"the result body is {len(body)} bytes, over the limit of "
            f"{limits.max_result_bytes} bytes"
        )
        return result
    result.body = body
    return result


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000


_syntax_checker: Any = None
_syntax_lock = threading.Lock()


def check_syntax(source: str) -> str | None:
    """Return a readable syntax error for ``source``, or None if it compiles.

    Compiles with ``new Function`` (which parses, never runs) in both forms a
    script may take: an expression/program, or a function body with ``return``.
    """
    from py_mini_racer import MiniRacer

    global _syntax_checker
    with _syntax_lock:
        if _syntax_checker is None:
            _syntax_checker = MiniRacer()
        checker = _syntax_checker
        try:
            checker.eval(f"new Function({orjson.dumps(source).decode()}); 0", timeout_sec=5)
        except JSEvalException as exc:
            return _syntax_message(str(exc))
        except Exception as exc:  # noqa: BLE001 - report, never crash the API
            return f"could not compile the script: {exc}"
    return None


def _syntax_message(text: str) -> str:
    # V8 reports "undefined:LINE: SyntaxError: ..."; new Function adds 2 lines.
    first = text.splitlines()[0] if text else "SyntaxError"
    head, _, message = first.partition(": ")
    line = head.rsplit(":", 1)[-1]
    if line.isdigit() and message:
        return f"{message} (line {max(1, int(line) - 2)})"
    return first
