"""The shell blocks of README.md and docs/, and their markers.

Every fenced ``bash``/``sh``/``shell``/``console`` block is preceded by an
HTML comment (shown by neither GitHub nor MkDocs): ``<!-- tested: NAME -->``
(a test in tests/docs runs it, found by NAME) or ``<!-- illustrative: why -->``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "SHELL_LANGS", "Block", "block", "doc_files", "shell_blocks"]

ROOT = Path(__file__).resolve().parents[2]
SHELL_LANGS = {"bash", "sh", "shell", "console", "shell-session", "zsh"}
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)(.*)$")
_MARKER = re.compile(r"^\s*<!--\s*(tested|illustrative)\b\s*:?\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    kind: str | None  # "tested", "illustrative", or None when unmarked
    name: str  # a tested block's NAME; an illustrative block's reason

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _marker(lines: list[str], fence_index: int) -> tuple[str | None, str]:
    i = fence_index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    match = _MARKER.match(lines[i]) if i >= 0 else None
    return (match.group(1), match.group(2)) if match else (None, "")


def _blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, lang = opening.group(2), opening.group(3).lower()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if lang in SHELL_LANGS:
            indent = len(opening.group(1))
            code = "\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n"
            kind, name = _marker(lines, i)
            found.append(Block(path, i + 1, lang, code, kind, name))
        i = end + 1
    return found


def shell_blocks() -> list[Block]:
    return [b for path in doc_files() for b in _blocks(path)]


def block(name: str) -> Block:
    """The block marked ``<!-- tested: NAME -->`` (exactly one must be)."""
    matches = [b for b in shell_blocks() if b.kind == "tested" and b.name == name]
    assert len(matches) == 1, f"expected one block marked 'tested: {name}', found {len(matches)}"
    return matches[0]
