"""``hooklet jobs list``, ``hooklet jobs replay`` and ``hooklet stats``
against a running stack: find the failed jobs, fix the script, replay them
(a confirmation first, or ``--yes``) and see them succeed."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.e2e.test_cli import HOOKLET, cli
from tests.support.stack import ADMIN_TOKEN, Api, wait_until

pytestmark = pytest.mark.stack

BROKEN = "(async () => { throw new Error('out of stock'); })()"
FIXED = "(async () => ({ body: 'shipped' }))();"


def test_list_replay_and_stats(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script=BROKEN)
    failed = [api.run(hook_id, data=f'{{"n": {i}}}') for i in range(3)]
    assert all(j["status"] == "failed" for j in failed)

    listed = cli(api, "jobs", "list", "--status", "failed", "--hook", hook_id)
    assert listed.returncode == 0, listed.stderr
    assert all(j["jobId"] in listed.stdout for j in failed)
    assert "Error: out of stock" in listed.stdout
    as_json = json.loads(cli(api, "--json", "jobs", "list", "--hook", hook_id).stdout)
    assert {j["jobId"] for j in as_json["jobs"]} == {j["jobId"] for j in failed}

    # Without --yes it asks; answering no changes nothing.
    env = {**os.environ, "HOOKLET_URL": api.base, "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN}
    asked = subprocess.run(
        [HOOKLET, "jobs", "replay", "--status", "failed", "--hook", hook_id, "--since", "1h"],
        input="n\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert asked.returncode == 1 and "replay 3 job(s)?" in asked.stderr

    api.put_hook(hook_id, script=FIXED)
    replayed = cli(
        api, "jobs", "replay", "--status", "failed", "--hook", hook_id, "--since", "1h", "--yes"
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "replay: 3, refused: 0" in replayed.stdout

    def succeeded() -> list[dict] | None:
        out = cli(api, "--json", "jobs", "list", "--hook", hook_id, "--status", "succeeded")
        jobs = json.loads(out.stdout)["jobs"]
        return jobs if len(jobs) == 3 else None

    jobs = wait_until(succeeded, timeout_s=30, what="the replays succeed")
    assert {j["replayOf"] for j in jobs} == {j["jobId"] for j in failed}
    # A second replay by the same filter finds nothing left to replay.
    again = cli(api, "jobs", "replay", "--status", "failed", "--hook", hook_id, "--yes")
    assert again.returncode == 0 and "no jobs match" in again.stdout

    def charted() -> dict | None:
        # Stats reach Redis at each process's next flush (about a second).
        out = json.loads(cli(api, "--json", "stats", "--hook", hook_id).stdout)["series"]
        jobs = {status: sum(counts) for status, counts in out["jobs"].items()}
        events = sum(sum(counts) for counts in out["events"].values())
        return out if events == 6 and jobs == {"failed": 3, "succeeded": 3} else None

    wait_until(charted, timeout_s=15, what="the events and jobs charted")
    shown = cli(api, "stats", "--hook", hook_id)
    assert shown.returncode == 0, shown.stderr
    assert hook_id in shown.stdout and "P95 MS" in shown.stdout
    fleet = cli(api, "stats")
    assert fleet.returncode == 0 and "fleet" in fleet.stdout and hook_id in fleet.stdout
