"""``hooklet projects``, ``hooklet tokens`` and ``hooklet kv`` against the
real stack; a project token from ``HOOKLET_TOKEN`` sees only its project."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from tests.support.stack import ADMIN_TOKEN, BIN, Api

pytestmark = pytest.mark.stack
HOOKLET = str(BIN / "hooklet")


def run(api: Api, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    """The CLI with ``HOOKLET_TOKEN`` (a project token), else the admin token."""
    env = {**os.environ, "HOOKLET_URL": api.base, "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN}
    env.pop("HOOKLET_TOKEN", None)
    if token:
        env["HOOKLET_TOKEN"] = token
    done = subprocess.run([HOOKLET, *args], capture_output=True, text=True, env=env, timeout=60)
    return done


def test_projects_tokens_and_kv_from_the_cli(api: Api) -> None:
    project = f"cli-{uuid.uuid4().hex[:8]}"
    made = run(api, "projects", "create", project, "--name", "Team", "--quota", "maxHooks=5")
    assert made.returncode == 0 and f"created project {project}" in made.stdout, made.stderr
    listed = run(api, "projects", "list")
    assert project in listed.stdout and "maxHooks=5" in listed.stdout
    updated = run(api, "projects", "update", project, "--quota", "maxHooks=6")
    assert "version 2" in updated.stdout, updated.stderr

    minted = run(
        api, "--json", "tokens", "create", "--project", project, "--name", "ci",
        "--scope", "hooks:read", "--scope", "hooks:write", "--scope", "kv:read",
        "--scope", "kv:write",
    )  # fmt: skip
    assert minted.returncode == 0, minted.stderr
    token = json.loads(minted.stdout)
    assert token["token"].startswith("hlt_") and token["project"] == project
    shown = run(api, "tokens", "list", "--project", project)
    assert token["id"] in shown.stdout and token["token"] not in shown.stdout

    hook_id = f"cli-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, script="({ body: 'x' })", project=project)
    mine = run(api, "hooks", "list", token=token["token"])
    assert hook_id in mine.stdout
    put = run(api, "kv", "put", hook_id, "a/b", "hello", token=token["token"])
    assert put.returncode == 0, put.stderr
    assert run(api, "kv", "get", hook_id, "a/b", token=token["token"]).stdout.strip() == "hello"
    assert "a/b" in run(api, "kv", "list", hook_id, token=token["token"]).stdout
    assert run(api, "kv", "rm", hook_id, "a/b", token=token["token"]).returncode == 0
    gone = run(api, "kv", "get", hook_id, "a/b", token=token["token"])
    assert gone.returncode == 1 and "404" in gone.stderr
    denied = run(api, "jobs", "list", token=token["token"])
    assert denied.returncode == 1 and "jobs:read" in denied.stderr
    elsewhere = run(api, "hooks", "get", hook_id, token=None)  # the admin sees it
    assert elsewhere.returncode == 0

    assert run(api, "tokens", "revoke", token["id"]).returncode == 0
    refused = run(api, "hooks", "list", token=token["token"])
    assert refused.returncode == 1 and "token was refused" in refused.stderr
    kept = run(api, "projects", "rm", project)
    assert kept.returncode == 1 and "cascade" in kept.stderr
    assert run(api, "projects", "rm", project, "--cascade").returncode == 0
