"""The ``hooklet`` command, installed with the package, against a running stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import ADMIN_TOKEN, Api, Worker

pytestmark = pytest.mark.stack

HOOKLET = str(Path(sys.executable).parent / "hooklet")


def cli(api: Api, *args: str, token: str | None = ADMIN_TOKEN, url: str | None = None):
    env = {**os.environ, "HOOKLET_URL": url or api.base}
    env.pop("HOOKLET_ADMIN_TOKEN", None)
    if token:
        env["HOOKLET_ADMIN_TOKEN"] = token
    return subprocess.run([HOOKLET, *args], capture_output=True, text=True, env=env, timeout=60)


def test_hooks_put_list_get_rm(api: Api, hook_id: str, tmp_path: Path) -> None:
    definition = tmp_path / "hook.json"
    definition.write_text(
        json.dumps({"id": hook_id, "script": "({ body: 'cli' })", "secrets": {"k": "hidden-value"}})
    )
    put = cli(api, "hooks", "put", str(definition))
    assert put.returncode == 0, put.stderr
    assert f"created hook {hook_id} (version 1)" in put.stdout
    assert "callback signing secret (shown once): whsec_" in put.stdout

    listed = cli(api, "hooks", "list")
    assert listed.returncode == 0 and hook_id in listed.stdout
    assert listed.stdout.splitlines()[0].split()[:3] == ["ID", "MODE", "VERSION"]
    as_json = json.loads(cli(api, "--json", "hooks", "list").stdout)
    assert hook_id in [h["id"] for h in as_json["hooks"]]

    shown = cli(api, "hooks", "get", hook_id)
    assert "({ body: 'cli' })" in shown.stdout and "hidden-value" not in shown.stdout

    assert cli(api, "hooks", "rm", hook_id).returncode == 0
    missing = cli(api, "hooks", "get", hook_id)
    assert missing.returncode == 1 and "404 hook_not_found" in missing.stderr


def test_send_and_wait(api: Api, hook_id: str, tmp_path: Path) -> None:
    api.put_hook(
        hook_id, script="console.log('hi'); ({ body: String.fromCharCode(...context.body) })"
    )
    payload = tmp_path / "event.json"
    payload.write_text('{"from":"file"}')
    sent = cli(api, "send", hook_id, "--data", f"@{payload}", "--wait")
    assert sent.returncode == 0, sent.stderr
    assert "succeeded" in sent.stdout and '{"from":"file"}' in sent.stdout
    assert "[log] hi" in sent.stdout

    accepted = json.loads(cli(api, "--json", "send", hook_id, "--data", "x").stdout)
    job = json.loads(cli(api, "--json", "jobs", "get", accepted["jobId"], "--wait").stdout)
    assert job["status"] == "succeeded" and job["result"]["body"] == "x"


def test_send_to_a_sync_hook_prints_the_answer(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, mode="sync", script="({ statusCode: 201, body: 'made' })")
    sent = cli(api, "send", hook_id)
    assert sent.returncode == 0 and sent.stdout.splitlines() == ["201", "made"]


def test_workers_shows_nodes_and_queues(api: Api, worker: Worker) -> None:
    shown = cli(api, "workers")
    assert shown.returncode == 0, shown.stderr
    assert "scripts@" in shown.stdout and "QUEUE" in shown.stdout
    assert "WARM ISOLATES" in shown.stdout
    data = json.loads(cli(api, "--json", "workers").stdout)
    [node] = [n for n in data["nodes"] if n["name"].startswith("scripts@")]
    assert node["concurrency"] == 2 and len(node["children"]) == 2
    # What the node reported is the real node: its children's process ids.
    assert {c["pid"] for c in node["children"]} == {p.pid for p in worker.children()}
    assert set(data["queues"]) == {"scripts.sync", "scripts", "callbacks"}
    # Each hook's queued events (none here: the worker keeps up), and the sync lane's.
    assert "(sync lane)" in shown.stdout and "QUEUED" in shown.stdout
    assert isinstance(data["syncQueued"], int) and isinstance(data["hooks"], list)


def test_clear_errors_for_a_wrong_token_or_no_server(api: Api) -> None:
    wrong = cli(api, "hooks", "list", token="nope")
    assert wrong.returncode == 1 and "token was refused" in wrong.stderr
    down = cli(api, "hooks", "list", url="http://127.0.0.1:9")
    assert down.returncode == 1 and "cannot reach hooklet" in down.stderr
