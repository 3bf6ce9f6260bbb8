"""Hooks declared as files (HOOKLET_HOOKS_DIR), loaded when the web starts."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.support.stack import ADMIN_TOKEN, Api, Web, Worker

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def hook_file(directory: Path, hook_id: str, script: str) -> None:
    definition = {"id": hook_id, "mode": "sync", "script": script}
    (directory / f"{hook_id}.json").write_text(json.dumps(definition))


def test_hooks_from_files_answer_and_the_api_still_validates_scripts(
    env: dict[str, str], worker: Worker, tmp_path: Path, hook_id: str
) -> None:
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir()
    hook_file(hooks_dir, hook_id, "({ body: 'from a file' })")
    web = Web({**env, "HOOKLET_HOOKS_DIR": str(hooks_dir)}, tmp_path).start()
    try:
        assert requests.post(f"{web.url}/h/{hook_id}", timeout=10).text == "from a file"
        # Validating a script in a web worker (V8) must work after the start-up
        # load: it once hung, V8 having been started in gunicorn's master.
        for n in range(4):  # reach both gunicorn workers
            response = Api(web.url).http.put(
                f"{web.url}/api/hooks/{hook_id}-{n}",
                json={"script": "(async () => ({ body: 1 }))();"},
                headers=ADMIN,
                timeout=10,
            )
            assert response.status_code == 201, response.text
        version = Api(web.url).http.get(f"{web.url}/api/hooks/{hook_id}", headers=ADMIN).json()
    finally:
        web.stop()

    again = Web({**env, "HOOKLET_HOOKS_DIR": str(hooks_dir)}, tmp_path).start()
    try:
        same = requests.get(f"{again.url}/api/hooks/{hook_id}", headers=ADMIN, timeout=10).json()
        assert same["version"] == version["version"]  # an unchanged file changes nothing
    finally:
        again.stop()


def test_an_invalid_hook_file_is_reported_and_the_web_still_starts(
    env: dict[str, str], tmp_path: Path, hook_id: str
) -> None:
    hooks_dir = tmp_path / "hooks"
    hooks_dir.mkdir()
    hook_file(hooks_dir, hook_id, "const = 1;")
    web = Web({**env, "HOOKLET_HOOKS_DIR": str(hooks_dir)}, tmp_path).start()
    try:
        missing = requests.get(f"{web.url}/api/hooks/{hook_id}", headers=ADMIN, timeout=10)
        assert missing.status_code == 404
        log = (tmp_path / f"web-{web.port}.log").read_text()
        assert "invalid hook file" in log and "script" in log
    finally:
        web.stop()
