"""Drafts, promote and rollback on the real stack (gunicorn, Celery workers
with warm isolates), and their CLI: what live events run is what the user
promoted or rolled back to, from the very next event."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.stack import ADMIN_TOKEN, BIN, Api

pytestmark = pytest.mark.stack
HOOKLET = str(BIN / "hooklet")
# Each isolate counts the runs it served in a global: a warm isolate keeps it.
COUNTING = "(globalThis.n = (globalThis.n || 0) + 1, {{ body: {{ v: '{v}', n }} }})"
EVENTS = 6


def _answers(api: Api, hook_id: str) -> list[tuple[int, dict]]:
    """(version, body) of EVENTS events, each sent once the previous one ended."""
    jobs = [api.run(hook_id, json={"i": i}) for i in range(EVENTS)]
    assert all(job["status"] == "succeeded" for job in jobs), jobs
    return [(job["scriptVersion"], json.loads(job["result"]["body"])) for job in jobs]


def _call(api: Api, method: str, path: str, **kwargs) -> dict:
    response = api.http.request(
        method, f"{api.base}/api/hooks/{path}", headers=api.admin, timeout=30, **kwargs
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


def test_promote_and_rollback_switch_what_live_events_run(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script=COUNTING.format(v="old"))
    warm = _answers(api, hook_id)
    assert {(version, body["v"]) for version, body in warm} == {(1, "old")}
    assert max(body["n"] for _, body in warm) > 1  # served by warm isolates

    draft = _call(api, "PUT", f"{hook_id}/draft", json={"script": COUNTING.format(v="new")})
    assert draft["baseVersion"] == 1
    unchanged = _answers(api, hook_id)  # saved, not served
    assert {(version, body["v"]) for version, body in unchanged} == {(1, "old")}

    assert _call(api, "POST", f"{hook_id}/draft/promote")["version"] == 2
    after = _answers(api, hook_id)
    assert {(version, body["v"]) for version, body in after} == {(2, "new")}
    # New isolates: the old version's (whose counts went past EVENTS) served none.
    counts = sorted(body["n"] for _, body in after)
    assert counts[0] == 1 and counts[-1] <= EVENTS, counts

    rolled = _call(api, "POST", f"{hook_id}/rollback")
    assert rolled["version"] == 3 and rolled["restoredVersion"] == 1
    back = _answers(api, hook_id)
    assert {(version, body["v"]) for version, body in back} == {(3, "old")}
    assert min(body["n"] for _, body in back) == 1  # version 3 has isolates of its own

    hook = _call(api, "GET", hook_id)
    assert hook["version"] == 3 and hook["script"] == COUNTING.format(v="old")


def _cli(api: Api, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOOKLET_URL": api.base, "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN}
    env.pop("HOOKLET_TOKEN", None)
    return subprocess.run([HOOKLET, *args], capture_output=True, text=True, env=env, timeout=60)


def test_drafts_from_the_cli(api: Api, hook_id: str, tmp_path: Path) -> None:
    api.put_hook(hook_id, script="({ body: 'one' })", response={"statusCode": 201},
                 secrets={"token": "kept"})  # fmt: skip
    script = tmp_path / "next.js"
    script.write_text("({ body: 'two:' + context.secrets.token })")

    missing = _cli(api, "draft", "get", hook_id)
    assert missing.returncode == 1 and "draft_not_found" in missing.stderr
    saved = _cli(api, "draft", "put", hook_id, "--script", str(script))
    assert saved.returncode == 0, saved.stderr
    assert "over version 1" in saved.stdout and f"hooklet draft promote {hook_id}" in saved.stdout
    shown = json.loads(_cli(api, "--json", "draft", "get", hook_id).stdout)
    # The live hook with the new script: its settings and (inherited) secrets.
    assert shown["script"] == script.read_text() and shown["response"] == {"statusCode": 201}
    assert shown["secretNames"] == ["token"] and shown["secretsInherited"] is True
    assert api.run(hook_id)["result"]["body"] == "one"

    stale = _cli(api, "draft", "promote", hook_id, "--etag", "0" * 40)
    assert stale.returncode == 1 and "draft_changed" in stale.stderr
    promoted = _cli(api, "draft", "promote", hook_id, "--etag", shown["etag"])
    assert promoted.returncode == 0, promoted.stderr
    assert f"{hook_id} is now version 2" in promoted.stdout
    assert api.run(hook_id)["result"]["body"] == "two:kept"

    rolled = _cli(api, "hooks", "rollback", hook_id)
    assert rolled.returncode == 0, rolled.stderr
    assert "now version 3 (version 1 brought back)" in rolled.stdout
    assert api.run(hook_id)["result"]["body"] == "one"
    again = _cli(api, "hooks", "rollback", hook_id, "--to", "2")
    assert "now version 4 (version 2 brought back)" in again.stdout, again.stderr
    too_far = _cli(api, "hooks", "rollback", hook_id, "--to", "4")
    assert too_far.returncode == 1 and "no_earlier_version" in too_far.stderr

    definition = tmp_path / "hook.json"
    definition.write_text(json.dumps({"script": "({ body: 'three' })", "mode": "sync"}))
    assert _cli(api, "draft", "put", hook_id, str(definition)).returncode == 0
    assert _cli(api, "draft", "rm", hook_id).returncode == 0
    gone = _cli(api, "draft", "promote", hook_id)
    assert gone.returncode == 1 and "draft_not_found" in gone.stderr
    assert _call(api, "GET", hook_id)["version"] == 4
