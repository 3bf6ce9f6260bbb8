"""docs/architecture.md describes the tree as it is: every module of ``app/``
and ``workers/`` is named there, and no page names a Python or Lua file that
is gone (a module moved or renamed leaves a stale path behind)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.docs.blocks import ROOT, doc_files

ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGES = ("app", "workers")
# Not modules: the console's assets and the runtime's JavaScript are named by
# folder (``templates/``, ``static/``, ``js/*.js``).
_SKIPPED_PARTS = {"static", "templates", "js", "__pycache__"}
_NAMED_FILE = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.(?:py|lua))(?![\w])")
# Files outside the repository that pages name on purpose.
_NOT_OURS = {"conftest.py"}


def _committed() -> list[str]:
    """The repository's files as committed (others' work in progress in the
    same checkout is not the tree yet)."""
    out = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if (ROOT / line).exists()]


def _modules() -> list[Path]:
    found = []
    for name in _committed():
        rel = Path(name)
        if rel.parts[0] not in PACKAGES or rel.suffix not in (".py", ".lua", ".yaml"):
            continue
        if not _SKIPPED_PARTS & set(rel.parts):
            found.append(rel)
    return sorted(found)


def test_every_module_is_named_on_the_architecture_page() -> None:
    text = ARCHITECTURE.read_text()
    missing = []
    for rel in _modules():
        if rel.name == "__init__.py":
            # A package is named by its folder (``store/jobs/``) or its __init__.
            folder = "/".join(rel.parts[1:-1])
            if folder and f"{folder}/" not in text and f"{rel.parts[-2]}/" not in text:
                missing.append(str(rel))
        elif rel.name not in text:
            missing.append(str(rel))
    assert not missing, f"modules docs/architecture.md does not name: {missing}"


def test_every_file_a_page_names_exists() -> None:
    files = {f for f in _committed() if f.endswith((".py", ".lua"))}
    names = {f.rsplit("/", 1)[-1] for f in files}
    stale = []
    for page in doc_files():
        for match in _NAMED_FILE.finditer(page.read_text()):
            named = match.group(1)
            if named in _NOT_OURS or "*" in named:
                continue
            if "/" in named:
                ok = any(f == named or f.endswith("/" + named) for f in files)
            else:
                ok = named in names
            if not ok:
                stale.append(f"{page.relative_to(ROOT)}: {named}")
    assert not stale, f"pages name files that do not exist: {stale}"
