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
            return _syntax_message(str(exc), source)
        except Exception as exc:  # noqa: BLE001 - report, never crash the API
            return f"could not compile the script: {exc}"
    return None


def _syntax_message(text: str, source: str) -> str:
    # V8 reports "undefined:LINE: SyntaxError: ...", then the line it read and
    # a caret under the column; new Function adds 2 lines before the script.
    lines = text.splitlines()
    first = lines[0] if lines else "SyntaxError"
    head, _, message = first.partition(": ")
    line = head.rsplit(":", 1)[-1]
    if not (line.isdigit() and message):
        return first
    number = max(1, int(line) - 2)
    column = _caret_column(lines[1:3], source.split("\n")[number - 1 : number])
    return f"{message} (line {number}, column {column})" if column else f"{message} (line {number})"


def _caret_column(shown: list[str], own: list[str]) -> int | None:
    """The caret's column (1 = the first character) when the line V8 showed
    is the script's own (not new Function's closing one, nor a cut line)."""
    if len(shown) != 2 or not own or shown[0] != own[0].rstrip("\r"):
        return None
    caret = shown[1].lstrip(" ")
    return len(shown[1]) - len(caret) + 1 if caret.startswith("^") else None
