"""Every shell block in README.md and docs/ is run by a test or marked
illustrative, and every block marked ``tested`` is one a test runs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.docs.blocks import ROOT, block, shell_blocks

HERE = Path(__file__).parent
# Files that only define or check the convention: a name found there is not a run.
_NOT_RUNNERS = {"blocks.py", "test_markers.py"}


def _runner_sources() -> str:
    return "\n".join(p.read_text() for p in sorted(HERE.glob("*.py")) if p.name not in _NOT_RUNNERS)


def test_every_shell_block_is_marked() -> None:
    unmarked = [b.where for b in shell_blocks() if b.kind is None]
    assert not unmarked, (
        "shell blocks without '<!-- tested: NAME -->' or '<!-- illustrative: why -->' "
        f"on the line before: {unmarked}"
    )


def test_illustrative_blocks_say_why() -> None:
    silent = [b.where for b in shell_blocks() if b.kind == "illustrative" and not b.name]
    assert not silent, f"say why a block is illustrative: {silent}"


def test_tested_names_are_unique_and_run_by_a_test() -> None:
    tested = [b for b in shell_blocks() if b.kind == "tested"]
    assert tested, "no block is marked tested"
    twice = [name for name, n in Counter(b.name for b in tested).items() if n > 1]
    assert not twice, f"tested block names used twice: {twice}"
    sources = _runner_sources()
    unrun = [
        f"{b.where} ({b.name})"
        for b in tested
        if not re.search(rf"""["']{re.escape(b.name)}["']""", sources)
    ]
    assert not unrun, f"blocks marked tested that no test in tests/docs runs: {unrun}"


def test_block_lookup_finds_the_marked_block() -> None:
    found = block("bench-help")
    assert "scripts/bench --help" in found.code
    assert found.path == ROOT / "docs" / "performance.md"
