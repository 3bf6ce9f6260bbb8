"""How an evaluation's result comes back from V8's thread to the one waiting.

mini-racer runs each isolate's tasks on a thread of its own (its message
pump) and hands each result to Python from that thread through a ctypes
callback. A thread Python did not start has no Python thread state, so for
every callback ctypes makes one and deletes it after: on Python 3.11 that is
an ``mmap`` of the state's 16 KB frame stack, page faults on it, a
``munmap`` (a TLB flush on every core the process runs on) and a
``gettid``, about 25 µs of CPU of a ~50 µs hand-off (two per run).

``Results`` keeps the pump thread's state for the isolate's life: the first
result delivered on that thread takes one more hold on its thread state
(``PyGILState_Ensure``), so the state ctypes made is not deleted when the
callback returns, and later callbacks find and reuse it. ``release`` gives
that hold back on the same thread before the isolate is freed, so the state
goes with its thread and nothing is left behind (a state whose thread never
delivers again, an isolate stuck for good, is left to the child's exit).
The queue itself is a ``SimpleQueue`` (C, no ``Condition``): the pump thread
holds the GIL for less time with each result.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import queue
import threading
from typing import Any

from py_mini_racer._context import (
    _UNCANCELABLE_TASK_CALLBACK_ID as RESULT_QUEUE_CALLBACK,  # results go to its queue
)

__all__ = ["RESULT_QUEUE_CALLBACK", "Results", "close_context", "open_context"]

_GIVE_BACK_WAIT_S = 1.0  # a thread slower than this (stuck in a script) keeps its state
# Contexts share a loop that never runs: MiniRacer() makes a loop thread each (~1 ms).
_LOOPS: dict[int, asyncio.AbstractEventLoop] = {}

_ensure = ctypes.pythonapi.PyGILState_Ensure
_ensure.restype = ctypes.c_int
_release = ctypes.pythonapi.PyGILState_Release
_release.argtypes = [ctypes.c_int]


class Results:
    """One isolate's results, in the order its tasks ended; ``put`` is called
    by mini-racer on the isolate's thread, ``wake`` by any other thread."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.get = self._queue.get  # raises queue.Empty after its timeout
        self.empty = self._queue.empty
        self._kept: tuple[int, int] | None = None  # (thread ident, Ensure's state)
        self._giving_back = False
        self.released = threading.Event()  # the kept state given back (or none kept)
        self.released.set()

    def put(self, item: Any) -> None:
        """A result, from the isolate's thread (mini-racer's callback)."""
        me = threading.get_ident()
        if self._kept is None:
            if not self._giving_back:
                self.released.clear()
                self._kept = (me, _ensure())  # the callback's own state, kept
        elif self._giving_back and self._kept[0] == me:
            _release(self._kept[1])  # deleted as this callback returns
            self._kept = None
            self.released.set()
        self._queue.put(item)

    def wake(self, item: Any) -> None:
        """Put ``item`` from another thread (an interrupt): no thread state kept."""
        self._queue.put(item)

    def give_back(self) -> bool:
        """From now on nothing is kept, and the next result delivered on the
        kept thread gives its state back. True if one is kept (the caller then
        makes the isolate deliver once more)."""
        self._giving_back = True
        return self._kept is not None


def open_context() -> tuple[contextlib.AbstractContextManager[Any], Any, Results]:
    """A new mini-racer context (its isolate made), the maker whose ``__exit__``
    frees it, and the ``Results`` its evaluations are delivered to."""
    from py_mini_racer._mini_racer import _make_context  # late: V8 starts in children only

    loop = _LOOPS.get(os.getpid()) or _LOOPS.setdefault(os.getpid(), asyncio.new_event_loop())
    maker = _make_context(loop)  # one loop per pid: a forked child makes its own
    ctx = maker.__enter__()
    results = Results()
    object.__setattr__(ctx, "_non_cancelable_mr_task_results_queue", results)
    return maker, ctx, results


def close_context(
    maker: contextlib.AbstractContextManager[Any], ctx: Any, results: Results
) -> None:
    """Free the isolate, its thread's kept state given back first: one more
    evaluation delivers on that thread (waited for briefly: a thread stuck in
    a script that ignored termination keeps its state)."""
    if results.give_back():
        code = ctx._python_to_value_handle("0")  # noqa: SLF001
        ctx._dll.mr_eval(ctx._ctx, code.raw, RESULT_QUEUE_CALLBACK)  # noqa: SLF001
        results.released.wait(_GIVE_BACK_WAIT_S)
    maker.__exit__(None, None, None)
