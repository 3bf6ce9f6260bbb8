"""Starting and stopping child processes: free ports, polling until ready,
a stop that never leaves an orphan, and the fast test layer's guard."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
import requests

__all__ = [
    "BIN",
    "ROOT",
    "answers",
    "check_allowed",
    "free_port",
    "processes_allowed",
    "stop_process",
    "wait_until",
]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
T = TypeVar("T")

# Cleared by tests/conftest.py for tests not marked ``stack``, so the fast
# layer can never start gunicorn or Celery by mistake (benchmarks may).
processes_allowed = True


def check_allowed(what: str) -> None:
    if not processes_allowed:
        raise RuntimeError(f"this test starts {what}: mark it @pytest.mark.stack")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], T], timeout_s: float = 20.0, interval_s: float = 0.05, what: str = ""
) -> T:
    """Poll ``predicate`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s}s waiting for {what or predicate}")


def stop_process(
    proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout_s: float = 15
) -> None:
    """Signal ``proc`` and wait; past ``timeout_s``, kill it and its children."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait(5)


def answers(url: str) -> bool:
    """True once ``url`` answers 200 (a health check)."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
