"""A reader's folder for the documented shell blocks that run against a stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT
from tests.support.stack import ADMIN_TOKEN, Api


@pytest.fixture
def reader_dir(tmp_path: Path, api: Api) -> Path:
    """A folder like the repository's after scripts/run: the admin token in
    .hooklet/admin-token, config/ beside it, the example hooks loaded."""
    (tmp_path / ".hooklet").mkdir()
    (tmp_path / ".hooklet" / "admin-token").write_text(ADMIN_TOKEN + "\n")
    (tmp_path / "config").symlink_to(ROOT / "config")
    for path in sorted((ROOT / "config" / "hooks").glob("*.json")):
        hook = json.loads(path.read_text())
        api.put_hook(hook.pop("id"), **hook)
    return tmp_path
