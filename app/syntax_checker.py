"""Script syntax checks for the admin API, run in a helper process.

V8 never starts in a web process: mini-racer's own threads and event loop
do not work under gevent's monkey-patching (and a web process should hold
no isolate). Each web process starts one helper
(``workers.sandbox.syntax_server``) on first use and talks to it over a
pipe, one check at a time; under gevent the pipe is cooperative, so a check
parks only the request that asked for it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import IO

import orjson

__all__ = ["SyntaxChecker"]


class SyntaxChecker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def __call__(self, source: str) -> str | None:
        """A readable syntax error for ``source``, or None if it compiles."""
        with self._lock:
            for attempt in (1, 2):  # a helper that died is started again, once
                proc = self._helper()
                try:
                    _write(proc.stdin, orjson.dumps({"source": source}) + b"\n")
                    line = proc.stdout.readline() if proc.stdout else b""
                except (BrokenPipeError, OSError):
                    line = b""
                if line:
                    return orjson.loads(line)["error"]
                self.close()
                if attempt == 2:
                    return "could not compile the script: the syntax checker is unavailable"
        return None

    def _helper(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "workers.sandbox.syntax_server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def _write(stream: IO[bytes] | None, data: bytes) -> None:
    if stream is None:
        raise BrokenPipeError
    stream.write(data)
    stream.flush()
