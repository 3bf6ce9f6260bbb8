"""Ordered hooks on the real stack (issue 24): per-key order over many keys
sent at once, checked from when each job's script ran (t0..t1, in its
result), and the same traffic without ``ordering`` showing overlaps, so the
check can fail; block and resume with and without skip; ordered callbacks
against a slow receiver. (A child SIGKILLed mid-key: tests/faults/
test_ordering_child_death.py; the store's steps: tests/workers/
test_ordering_store.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.receiver import Receiver, Reply
from tests.support.stack import ADMIN_TOKEN, Api, Worker, wait_until

pytestmark = pytest.mark.stack

# Each run says when it ran: the script's own clock at its start and end.
TIMED = """(async () => {
  const t0 = Date.now();
  await new Promise(r => setTimeout(r, 60));
  return { body: { t0, t1: Date.now() } };
})()"""
# Fails for a body {"bad": true}; the hook is fixed by storing GOOD over it.
BAD = """(async () => {
  const event = JSON.parse(Deno.core.decode(new Uint8Array(context.body)));
  if (event.bad) throw new Error('bad event');
  return { body: { n: event.n } };
})()"""
GOOD = "(async () => ({ body: 'ok' }))()"
KEYS, PER_KEY = 5, 6


def _send_keys(
    api: Api, hook_id: str, keys: int = KEYS, per_key: int = PER_KEY
) -> dict[str, list[str]]:
    """Every key's events from a thread of its own, each key's in sequence:
    the keys' events arrive interleaved, a key's in a known order."""
    sent: dict[str, list[str]] = defaultdict(list)

    def sender(key: str) -> None:
        for _ in range(per_key):
            answer = api.send(hook_id, headers={"X-Key": key})
            assert answer.status_code == 202, answer.text
            sent[key].append(answer.json()["jobId"])

    threads = [threading.Thread(target=sender, args=(f"k{n}",)) for n in range(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sent


def _runs(api: Api, sent: dict[str, list[str]]) -> dict[str, list[tuple[int, int]]]:
    """Each key's runs (t0, t1) in the order the intake accepted them."""
    runs: dict[str, list[tuple[int, int]]] = {}
    for key, job_ids in sent.items():
        jobs = [api.wait_job(job_id, timeout_s=60) for job_id in job_ids]
        assert all(j["status"] == "succeeded" for j in jobs), jobs
        times = [json.loads(j["result"]["body"]) for j in jobs]
        runs[key] = [(t["t0"], t["t1"]) for t in times]
    return runs


def _overlaps(runs: list[tuple[int, int]]) -> int:
    """How many of a key's runs started before the one before ended."""
    return sum(1 for before, after in zip(runs, runs[1:], strict=False) if after[0] < before[1])


def test_a_keys_events_run_one_at_a_time_in_order_while_keys_run_side_by_side(
    api: Api, hook_id: str
) -> None:
    api.put_hook(hook_id, script=TIMED, ordering={"key": "header:X-Key"})
    runs = _runs(api, _send_keys(api, hook_id))
    assert {key: _overlaps(r) for key, r in runs.items()} == {key: 0 for key in runs}
    # Other keys did run at the same time (the hook is not serialized whole).
    every = sorted(run for r in runs.values() for run in r)
    assert any(b[0] < a[1] for a, b in zip(every, every[1:], strict=False))


def test_without_ordering_a_keys_events_overlap(api: Api, hook_id: str) -> None:
    """The same check fails without ordering (so the check above can fail).
    One key's events: with several keys the two children could take the
    lane's interleaved events in step, each running one key's, and show no
    overlap by chance."""
    api.put_hook(hook_id, script=TIMED)
    runs = _runs(api, _send_keys(api, hook_id, keys=1, per_key=KEYS * PER_KEY))
    assert sum(_overlaps(r) for r in runs.values()) > 0


def _cli(api: Api, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOOKLET_URL": api.base, "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN}
    hooklet = str(Path(sys.executable).parent / "hooklet")
    return subprocess.run([hooklet, *args], capture_output=True, text=True, env=env, timeout=60)


def _keys(api: Api, hook_id: str) -> list[dict]:
    answer = api.http.get(f"{api.base}/api/hooks/{hook_id}/keys?blocked=true", headers=api.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()["keys"]


def _resume(api: Api, hook_id: str, key: str, **body: bool) -> dict:
    url = f"{api.base}/api/hooks/{hook_id}/keys/{quote(key, safe='')}/resume"
    answer = api.http.post(url, json=body, headers=api.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _blocked_events(api: Api, hook_id: str, key: str) -> tuple[str, list[str]]:
    """A bad event of ``key`` and two after it: the bad one fails and holds the key."""
    ids = [
        api.send(hook_id, json={"bad": n == 0, "n": n}, headers={"X-Key": key}).json()["jobId"]
        for n in range(3)
    ]
    failed = api.wait_job(ids[0])
    assert (failed["status"], failed["reason"]) == ("failed", "error")
    for job_id in ids[1:]:  # blocked in the same step the failure was recorded
        job = api.job(job_id)
        assert (job["status"], job.get("blockedBy")) == ("queued", ids[0]), job
    return ids[0], ids[1:]


def test_a_failure_blocks_its_key_until_resumed_with_a_rerun(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script=BAD, ordering={"key": "header:X-Key", "onFailure": "block"})
    failed, waiting = _blocked_events(api, hook_id, "acct 7")
    other = api.run(hook_id, json={"n": 9}, headers={"X-Key": "acct 8"})
    assert other["status"] == "succeeded"  # other keys go on
    [blocked] = _keys(api, hook_id)
    assert (blocked["key"], blocked["blockedBy"], blocked["waiting"]) == ("acct 7", failed, 2)

    api.put_hook(hook_id, script=GOOD, ordering={"key": "header:X-Key", "onFailure": "block"})
    rerun = api.wait_job(_resume(api, hook_id, "acct 7")["rerunJobId"])
    assert (rerun["status"], rerun["replayOf"]) == ("succeeded", failed)
    jobs = [api.wait_job(job_id) for job_id in waiting]
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded"]
    assert _keys(api, hook_id) == []


def test_a_blocked_key_resumed_with_skip_goes_on_without_its_failed_event(
    api: Api, hook_id: str
) -> None:
    """From the CLI: ``jobs list --blocked`` and ``jobs resume --skip``; the
    hook has dropped its ordering since the key blocked: still listed."""
    api.put_hook(hook_id, script=BAD, ordering={"key": "header:X-Key", "onFailure": "block"})
    failed, waiting = _blocked_events(api, hook_id, "k/1")
    api.put_hook(hook_id, script=BAD)
    listed = _cli(api, "jobs", "list", "--blocked")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    row = next(r for r in rows if r[:4] == [hook_id, "k/1", failed, "2"])  # among other tests'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[4]), listed.stdout  # not epoch s
    resumed = _cli(api, "--json", "jobs", "resume", hook_id, "k/1", "--skip")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["nextJobId"] == waiting[0]
    jobs = [api.wait_job(job_id) for job_id in waiting]
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded"]
    assert api.job(failed)["status"] == "failed"  # skipped: not run again


@pytest.fixture
def cb_api(api: Api, callbacks_worker: Worker) -> Api:
    return api


def test_a_keys_callbacks_are_sent_in_order_each_after_the_one_before_ended(
    cb_api: Api, hook_id: str, receiver: Receiver
) -> None:
    """The first callback fails once (its retry comes a second later) and the
    receiver answers slowly: the key's later callbacks still wait for it,
    while four callback threads could send them at once."""
    receiver.plan = [Reply(500, delay_s=0.2)]
    receiver.default = Reply(200, delay_s=0.2)
    cb_api.put_hook(hook_id, script=GOOD, callbackUrl=receiver.url,
                    ordering={"key": "query:customer"})  # fmt: skip
    job_ids = [cb_api.send(hook_id, params={"customer": "42"}).json()["jobId"] for _ in range(4)]
    for job_id in job_ids:
        wait_until(
            lambda j=job_id: cb_api.job(j).get("delivery", {}).get("status") == "succeeded",
            timeout_s=30,
            what=f"the callback of {job_id}",
        )
    arrivals = [next(j for j in job_ids if f'"{j}"'.encode() in r.body) for r in receiver.received]
    assert arrivals == [job_ids[0], *job_ids]  # the first twice (500, then 200), then in order
