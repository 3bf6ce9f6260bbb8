"""Checking a script's syntax without running it (the admin API's 422)."""

from __future__ import annotations

import threading
from typing import Any

import orjson
from py_mini_racer import JSEvalException  # no V8 until a MiniRacer exists

__all__ = ["check_syntax"]

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
