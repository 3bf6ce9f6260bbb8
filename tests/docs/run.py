"""Running a documented shell block as a reader would, pointed at a test stack.

The only rewrites: ``localhost:8000`` becomes the stack's address and
``.venv/bin/`` the test's virtualenv. ``curl`` fails on an HTTP error
(``--fail-with-body``), and the block runs under ``set -euo pipefail``, so a
command that does not succeed fails the test. Blocks that show an error
status on purpose (``-w '%{http_code}'``) run with the reader's plain
``curl`` (``http_errors_fail=False``); their test checks every status.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.docs.blocks import Block

__all__ = ["run_block"]

BIN = Path(sys.executable).parent
_PRELUDE = "set -euo pipefail\n"
_FAILING_CURL = 'curl() { command curl --fail-with-body --max-time 30 "$@"; }\n'
_PLAIN_CURL = 'curl() { command curl --max-time 30 "$@"; }\n'


def run_block(
    block: Block,
    cwd: Path,
    base_url: str | None = None,
    env: dict[str, str] | None = None,
    http_errors_fail: bool = True,
) -> subprocess.CompletedProcess[str]:
    code = block.code.replace(".venv/bin/", f"{BIN}/")
    if base_url:
        code = code.replace("localhost:8000", base_url.removeprefix("http://"))
    result = subprocess.run(
        ["bash", "-c", _PRELUDE + (_FAILING_CURL if http_errors_fail else _PLAIN_CURL) + code],
        cwd=cwd,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})},
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode == 0, (
        f"{block.where} ({block.name}) failed with {result.returncode}:\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result
