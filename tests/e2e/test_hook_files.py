"""Hooks declared as files (HOOKLET_HOOKS_DIR), loaded when gunicorn starts.
Loading itself (versions, invalid files) is in tests/app/test_hook_files.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.support.stack import ADMIN_TOKEN, Web, Worker

pytestmark = pytest.mark.stack

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_hook_files_load_at_start_and_v8_still_works_in_the_web_workers(
    env: dict[str, str], worker: Worker, tmp_path: Path, hook_id: str
) -> None:
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir()
    definition = {"id": hook_id, "mode": "sync", "script": "({ body: 'from a file' })"}
    (hooks_dir / f"{hook_id}.json").write_text(json.dumps(definition))
    # Loaded after the valid one (files load in name order): reported, and
    # the web starts all the same.
    invalid = {"id": hook_id + "-bad", "mode": "sync", "script": "const = 1;"}
    (hooks_dir / "zz-invalid.json").write_text(json.dumps(invalid))
    web = Web({**env, "HOOKLET_HOOKS_DIR": str(hooks_dir)}, tmp_path).start()
    try:
        assert requests.post(f"{web.url}/h/{hook_id}", timeout=10).text == "from a file"
        # Validating a script in a web worker (V8) must work after the start-up
        # load: it once hung, V8 having been started in gunicorn's master.
        for n in range(4):  # reach both gunicorn workers
            response = requests.put(
                f"{web.url}/api/hooks/{hook_id}-{n}",
                json={"script": "(async () => ({ body: 1 }))();"},
                headers=ADMIN,
                timeout=10,
            )
            assert response.status_code == 201, response.text
        missing = requests.get(f"{web.url}/api/hooks/{hook_id}-bad", headers=ADMIN, timeout=10)
        assert missing.status_code == 404
        log = (tmp_path / f"web-{web.port}.log").read_text()
        assert "invalid hook file" in log and "script" in log
    finally:
        web.stop()
