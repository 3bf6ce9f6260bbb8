"""One structured JSON line per finished job, in the worker's log."""

from __future__ import annotations

import json

import pytest

from tests.support.stack import Api, Worker, wait_until

pytestmark = pytest.mark.stack


def job_lines(worker: Worker, job_id: str) -> list[dict]:
    lines = []
    for line in worker.log().splitlines():
        if line.startswith("{") and job_id in line:
            lines.append(json.loads(line))
    return lines


def test_a_json_line_per_finished_job(api: Api, worker: Worker, hook_id: str) -> None:
    api.put_hook(hook_id, script="({ body: 'ok' })")
    job = api.run(hook_id)
    [line] = wait_until(lambda: job_lines(worker, job["jobId"]), what="the job's log line")
    assert line["event"] == "job_finished" and line["level"] == "info"
    assert line["job_id"] == job["jobId"] and line["hook"] == hook_id
    assert line["version"] == 1 and line["status"] == "succeeded" and line["reason"] is None
    assert line["duration_ms"] > 0 and line["attempts"] == 1
    assert line["heap_used_bytes"] > 0 and line["child_rss_mb"] > 10
    assert line["worker"] == job["worker"]


def test_a_termination_logs_its_own_line(api: Api, worker: Worker, hook_id: str) -> None:
    api.put_hook(hook_id, script="while (true) {}", limits={"timeoutMs": 100})
    job = api.run(hook_id)
    lines = wait_until(
        lambda: len(found := job_lines(worker, job["jobId"])) == 2 and found, what="both log lines"
    )
    events = {line["event"]: line for line in lines}
    assert events["job_finished"]["status"] == "failed"
    assert events["script_terminated"]["reason"] == "timeout"
    assert events["script_terminated"]["level"] == "warning"
