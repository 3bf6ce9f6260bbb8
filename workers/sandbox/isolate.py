"""The V8 sandbox: the only module that talks to mini-racer.

An ``Isolate`` is one mini-racer context with hooklet's runtime installed.
Every evaluation on it is cancelable and bounded by a deadline, because
mini-racer's own promise helpers block for good when the isolate spins
(see shared/DESIGN.md, "Known traps"). Isolates must be created in worker
children only: nothing here touches V8 at import time.

Evaluations start V8 tasks through mini-racer's context directly and wait for
the result on its result queue, with a timeout. mini-racer's public ``eval``
and ``eval_cancelable`` (and ``MiniRacer()``) go through an asyncio loop thread, costing
about 0.2 ms of CPU per call in thread hand-offs; this path costs less than
0.1 ms. It uses mini-racer internals, so mini-racer's version is pinned
exactly (pyproject.toml), and tests/workers/test_sandbox.py covers it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
from typing import Any

import orjson
from py_mini_racer import JSEvalException, JSOOMException  # no V8 until a MiniRacer exists
from py_mini_racer._exc import JSTerminatedException
from py_mini_racer._set_timeout import INSTALL_SET_TIMEOUT

from workers.sandbox.bridge import HostHandler, buffer_bytes, serve_calls
from workers.sandbox.handoff import RESULT_QUEUE_CALLBACK, close_context, open_context
from workers.sandbox.results import RunLimits, RunResult, to_result
from workers.sandbox.runtime_source import RUNTIME_JS
from workers.sandbox.syntax import check_syntax
from workers.sandbox.tape import replay_context, tape_at_timeout, with_context_read
from workers.sandbox.wire import UnreadableOutput, read_json
from workers.store.jobs.records import FailureReason

__all__ = ["Isolate", "RunLimits", "RunResult", "check_syntax", "run_script"]


_TAMPERED = (
    "Error: the script's result could not be read, or its run could not start in this "
    "isolate (did a run of this hook freeze globalThis?); the isolate is retired"
)
_POLL_SLEEPS_S = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01)
_WAKE_UP = object()  # put on the result queue by ``interrupt``


class _Interrupted(Exception):
    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Isolate:
    """One V8 isolate with hooklet's runtime. Not thread-safe: one owner thread
    evaluates; any thread may ``interrupt``."""

    def __init__(self, heap_mb: int) -> None:
        self._maker, self._ctx, self._results = open_context()
        # The argument-less commands' ``this`` values, made once per isolate.
        self._commands: dict[str, Any] = {}
        self._ctx.set_hard_memory_limit(heap_mb * 1024 * 1024)
        self._task: int | None = None
        self._interrupt: _Interrupted | None = None
        self._lock = threading.Lock()
        self.heap_mb = heap_mb
        self.uses = 0
        self.last_heap_bytes: int | None = None
        self.closed = False
        self.poisoned = False  # set when it must not run another script
        deadline = time.monotonic() + 30
        try:
            self.eval(INSTALL_SET_TIMEOUT, deadline)  # what MiniRacer() installs
            # The runtime's only handle, held here and nowhere in the JS realm.
            self._control = self.eval(RUNTIME_JS, deadline)
            self._argv = self.eval("[]", deadline)
        except BaseException:
            self.close()
            raise

    def eval(self, code: str, deadline: float) -> Any:
        """Evaluate ``code``; raise ``_Interrupted`` on timeout, OOM or interrupt."""
        ctx = self._ctx
        code_handle = ctx._python_to_value_handle(code)  # noqa: SLF001 - alive until the result
        dll, raw = ctx._dll, ctx._ctx  # noqa: SLF001
        return self._run_task(
            lambda: dll.mr_eval(raw, code_handle.raw, RESULT_QUEUE_CALLBACK), deadline
        )

    def call(self, command: str, arg: Any, deadline: float) -> Any:
        """Call the runtime's ``control`` (js/90_control.js) with
        ``"command:arg"`` as its ``this``. Nothing here may wait on the
        isolate outside a cancelable task (a spinning script would hang it),
        so the argument travels in a new value, never by setting a property."""
        ctx = self._ctx
        if arg is None:
            this = self._commands.get(command)
            if this is None:
                this = self._commands[command] = ctx._python_to_value_handle(command)  # noqa: SLF001
        else:
            this = ctx._python_to_value_handle(f"{command}:{arg}")  # noqa: SLF001 - alive until the result
        func, argv = self._control.raw_handle.raw, self._argv.raw_handle.raw
        dll, raw = ctx._dll, ctx._ctx  # noqa: SLF001
        return self._run_task(
            lambda: dll.mr_call_function(raw, func, this.raw, argv, RESULT_QUEUE_CALLBACK),
            deadline,
        )

    def check(self) -> None:
        """Raise if the run was interrupted (e.g. while a host call ran)."""
        if self._interrupt is not None:
            raise self._interrupt

    def _run_task(self, start: Any, deadline: float) -> Any:
        """Only one task is ever in flight, so the next item on the result
        queue is its result. After a timeout or an interrupt the isolate is
        poisoned and refuses further tasks: a late result may still arrive,
        and no one reads it."""
        if self.poisoned:  # a late result of a cancelled eval may still be queued
            raise self._interrupt or _Interrupted(FailureReason.TIMEOUT, "isolate retired")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Interrupted(FailureReason.TIMEOUT, "script timed out")
        ctx = self._ctx
        with self._lock:
            if self._interrupt is not None:
                raise self._interrupt
            self._task = start()
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
        except UnicodeDecodeError as exc:  # mini-racer decodes strict UTF-8
            raise UnreadableOutput("a string with an unpaired UTF-16 surrogate") from exc
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
        except JSEvalException as exc:
            if self._interrupt is not None:
                raise self._interrupt from None
            if self._ctx.was_hard_memory_limit_reached():  # how it ended, not its text
                self.poisoned = True
                raise _Interrupted(
                    FailureReason.MEMORY, f"script exceeded its heap limit of {self.heap_mb} MB"
                ) from exc
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
            self._results.wake(_WAKE_UP)  # the owner returns even if V8 does not stop
        # Ends an allocating script at its next GC even if cancel cannot.
        self._ctx.set_hard_memory_limit(1)

    def heap_used_bytes(self, *, collect: bool = False) -> int:
        """V8 heap in use (garbage included unless ``collect``). Call only when
        idle: mini-racer cannot cancel it. About half a millisecond."""
        if collect:
            self._ctx.low_memory_notification()
        self.last_heap_bytes = int(json.loads(self._ctx.heap_stats())["used_heap_size"])
        return self.last_heap_bytes

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            close_context(self._maker, self._ctx, self._results)


def run_script(
    isolate: Isolate,
    source: str,
    context: dict[str, Any],
    limits: RunLimits,
    host: HostHandler | None = None,
    replay: dict[str, Any] | None = None,
) -> RunResult:
    """Run ``source`` with the global ``context``; the value (awaited) is the
    result. ``host`` answers the script's host calls (fetch, KV, crypto).
    ``replay``: a tape's clock and seed to play back (sandbox/tape.py)."""
    started = time.monotonic()
    deadline = started + limits.timeout_ms / 1000
    isolate.uses += 1
    context_json = orjson.dumps(context if replay is None else replay_context(context, replay))
    seed = os.urandom(32) if replay is None else bytes.fromhex(replay.get("seed") or "00" * 32)
    job = (
        b'{"context":'
        + context_json
        + b',"limits":'
        + orjson.dumps({"lines": limits.max_log_lines, "bytes": limits.max_log_bytes})
        + b',"seed":'
        + orjson.dumps(seed.decode("latin-1"))
        + (b"" if replay is None else b',"tape":' + orjson.dumps({**replay, "replay": True}))
        + b',"source":'
        + orjson.dumps(source)
        + b"}"
    )
    try:
        isolate.call("start", job.decode(), deadline)
        meta, body = _await_outcome(isolate, deadline, host)
    except _Interrupted as exc:
        result = RunResult(_ms_since(started), reason=exc.reason, error=str(exc))
        if replay is None and exc.reason is FailureReason.TIMEOUT and not isolate.poisoned:
            with contextlib.suppress(_Interrupted, UnreadableOutput, JSEvalException):
                report = isolate.call("tape", None, time.monotonic() + 1)
                result.tape = tape_at_timeout(report, seed)
    except (UnreadableOutput, JSEvalException) as exc:
        # What the runtime handed back could not be read (a report orjson
        # refuses), or the runtime could not start the run (a frozen global).
        isolate.poisoned = True
        error = f"{_TAMPERED}: {str(exc).strip()[:500]}"
        result = RunResult(_ms_since(started), reason=FailureReason.ERROR, error=error)
    else:
        result = to_result(meta, body, _ms_since(started), limits)
        if isinstance(tape := meta.get("tape"), dict) and replay is None:  # what it read
            result.tape = {**tape, "seed": seed.hex()} if tape.get("random") else tape
    if replay is None:
        result.tape = with_context_read(result.tape, context)
    result.input_bytes = len(context_json)
    return result


def _await_outcome(
    isolate: Isolate, deadline: float, host: HostHandler | None
) -> tuple[dict[str, Any], bytes | None]:
    # Promise callbacks and timers run between evaluations, so poll briefly;
    # a plain async IIFE is settled by the first take().
    attempt = 0
    while True:
        raw = isolate.call("take", None, deadline)
        if raw is None:
            time.sleep(_POLL_SLEEPS_S[min(attempt, len(_POLL_SLEEPS_S) - 1)])
            attempt += 1
            continue
        if not isinstance(raw, str):
            raise UnreadableOutput(f"the runtime handed back {type(raw).__name__}, not text")
        meta = read_json(raw)
        if not isinstance(meta, dict):
            raise UnreadableOutput(f"the runtime handed back {type(meta).__name__}, not an object")
        if meta.get("timedOut") is True:  # a replay, where its live run ran out of time
            raise _Interrupted(FailureReason.TIMEOUT, "script timed out")
        if "calls" not in meta:
            break
        if not isinstance(meta["calls"], list):  # a forged report would be read forever
            raise UnreadableOutput("the runtime's queue of host calls is not a list")
        serve_calls(isolate, meta["calls"], host, deadline)
        attempt = 0
    body = None
    if meta.get("bytes"):
        body = buffer_bytes(isolate.call("bytes", None, deadline))
    elif "bytes" in meta:
        body = b""
    return meta, body


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
