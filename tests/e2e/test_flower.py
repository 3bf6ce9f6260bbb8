"""Flower tells the truth: a task whose job failed ends in Celery's FAILURE
state, after the job's outcome is recorded and without being redelivered,
with an exception naming the reason and the error's first line; a task that
ran several queued jobs fails if any did and names them; task arguments
carry the hook id. Checked through a real ``celery flower``'s HTTP API."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import pytest
import requests

from tests.support.stack import (
    Api,
    RedisServer,
    Web,
    Worker,
    _stop,
    hooklet_env,
    start_flower,
    wait_until,
)

pytestmark = pytest.mark.stack

FAILING = '(async () => { throw new Error("kaput: no stock\\nsecond line"); })()'
FINE = "(async () => ({ body: 'ok' }))();"
AUTH = ("flower", "flower-test-password")


@pytest.fixture(scope="module")
def flower_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str, object]]:
    """Redis, web and Flower; the worker starts when the test asks, so a
    backlog can build first. Task events are on from the worker's start."""
    workdir = tmp_path_factory.mktemp("flower")
    server = RedisServer(workdir).start()
    env = hooklet_env(server.url, task_events="true", prefetch_multiplier=1)
    web = Web(env, workdir).start()
    flower, url = start_flower(env, workdir, AUTH)
    wait_until(lambda: _flower_up(url), timeout_s=60, what="flower")
    workers: list[Worker] = []

    def start_worker() -> Worker:
        workers.append(Worker(env, workdir, concurrency=1).start())
        return workers[-1]

    try:
        yield Api(web.url), url, start_worker
    finally:
        for worker in workers:
            worker.stop(signal.SIGKILL)
        _stop(flower)
        web.stop()
        server.stop()


def _flower_up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthcheck", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def tasks(url: str, state: str) -> dict[str, dict]:
    answer = requests.get(f"{url}/api/tasks", params={"state": state}, auth=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_failed_jobs_are_failed_tasks_in_flower(flower_stack, hook_id: str) -> None:  # noqa: ANN001
    api, flower, start_worker = flower_stack
    api.put_hook(hook_id, script=FAILING)
    # A backlog before any worker runs: the first task's child takes the rest.
    failed_ids = [api.send(hook_id).json()["jobId"] for _ in range(5)]
    worker = start_worker()
    jobs = [api.wait_job(job_id, timeout_s=60) for job_id in failed_ids]
    assert all(j["status"] == "failed" and j["reason"] == "error" for j in jobs)

    def failure_messages() -> dict[str, str] | None:
        found = {tid: t.get("exception") or "" for tid, t in tasks(flower, "FAILURE").items()}
        named = " ".join(found.values())
        return found if all(job_id in named or job_id in found for job_id in failed_ids) else None

    failures = wait_until(failure_messages, timeout_s=60, what="failed tasks in Flower")
    ours = {tid: text for tid, text in failures.items() if tid in failed_ids}
    assert ours, failures
    for task_id, text in ours.items():
        assert "JobsFailed" in text and "kaput: no stock" in text, text
        assert "second line" not in text and hook_id in text and "error" in text
        ran_several = re.search(r"(\d+) of (\d+) jobs failed", text)
        if ran_several:  # names every failed job it ran, its own first
            assert text.count("job ") == int(ran_several.group(1)) and task_id in text
    assert any(re.search(r"\d+ of \d+ jobs failed", text) for text in ours.values())
    info = tasks(flower, "FAILURE")[next(iter(ours))]
    assert hook_id in info["args"]  # Flower's search finds a hook's tasks

    # Recorded first, acked, never redelivered: one attempt each, one Celery
    # delivery per task message at most.
    assert all(api.job(job_id)["attempts"] == 1 for job_id in failed_ids)
    received = re.findall(r"Task hooklet\.run_script\[(\w+)\] received", worker.log())
    assert len(received) == len(set(received)) <= len(failed_ids)

    # An expected failure: logged in one line, without a traceback.
    assert "raised expected: JobsFailed" in worker.log()
    assert "Traceback" not in worker.log()

    # A job that succeeds leaves a task in SUCCESS.
    fine = f"{hook_id}-ok"
    api.put_hook(fine, script=FINE)
    job = api.run(fine)
    assert job["status"] == "succeeded"
    wait_until(lambda: job["jobId"] in tasks(flower, "SUCCESS"), timeout_s=30, what="success")
    assert job["jobId"] not in tasks(flower, "FAILURE")
