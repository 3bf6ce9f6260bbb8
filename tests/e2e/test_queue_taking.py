"""Queued jobs taken straight off the queue (``HOOKLET_BATCH_MAX_JOBS``): after
its Celery task's own job, a worker child runs the next queued jobs itself.
A backlog drains with fewer Celery tasks than events, and a child killed in
the middle of a taken job loses nothing."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.queue.running_marker import job_running_in

pytestmark = pytest.mark.stack

TRIVIAL = "(async () => ({ body: 'ok' }))();"
SLOW = "(async () => { await new Promise(r => setTimeout(r, 1500)); return { body: 'slow' }; })()"


@contextmanager
def stack(
    tmp_path: Path, web_settings: dict | None = None, **settings: str | int
) -> Iterator[tuple[Api, Callable[[], Worker]]]:
    """Redis and web now; the worker (one child, one message reserved at a
    time) only when the test calls ``start_worker``, so events can queue up."""
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url, prefetch_multiplier=1, **settings)
    web = Web({**env, **hooklet_env(server.url, **(web_settings or {}))}, tmp_path).start()
    workers: list[Worker] = []

    def start_worker() -> Worker:
        workers.append(Worker(env, tmp_path, concurrency=1).start())
        return workers[-1]

    try:
        yield Api(web.url), start_worker
    finally:
        for worker in workers:
            worker.stop(signal.SIGKILL)
        web.stop()
        server.stop()


def taken_from_queue(api: Api, hook_id: str) -> float:
    text = api.http.get(f"{api.base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "hooklet_jobs_taken_from_queue_total":
                if sample.labels.get("hook") == hook_id:
                    return sample.value
    return 0.0


def celery_deliveries(worker: Worker) -> int:
    """run_script messages Celery delivered: it logs one "received" line each."""
    return len(re.findall(r"Task hooklet\.run_script\[\w+\] received", worker.log()))


def run_backlog(
    api: Api, start_worker: Callable[[], Worker], hook_id: str, events: int, **hook
) -> tuple[list[dict], Worker]:
    """Queue ``events`` events of a trivial hook before any worker runs, then
    start one and wait for every job to end."""
    api.put_hook(hook_id, script=TRIVIAL, **hook)
    job_ids = [api.send(hook_id).json()["jobId"] for _ in range(events)]
    worker = start_worker()
    return [api.wait_job(job_id, timeout_s=60) for job_id in job_ids], worker


def test_a_backlog_runs_with_fewer_celery_tasks_than_events(tmp_path, hook_id: str) -> None:
    # A wide window: a cold start on a slow machine must not close it.
    with stack(tmp_path, batch_window_ms=5000) as (api, start_worker):
        jobs, worker = run_backlog(api, start_worker, hook_id, 40)
        assert all((job["status"], job["attempts"]) == ("succeeded", 1) for job in jobs)
        assert all(job["result"]["body"] == "ok" for job in jobs)
        taken = taken_from_queue(api, hook_id)
        assert taken > 0
        # Every event ran exactly once, one way or the other.
        assert celery_deliveries(worker) + taken == 40


def test_with_batching_off_every_event_is_a_celery_task(tmp_path, hook_id: str) -> None:
    with stack(tmp_path, batch_max_jobs=0) as (api, start_worker):
        jobs, worker = run_backlog(api, start_worker, hook_id, 20)
        assert all(job["status"] == "succeeded" for job in jobs)
        assert taken_from_queue(api, hook_id) == 0
        assert celery_deliveries(worker) == 20


def test_a_child_takes_only_jobs_that_fit_in_its_tasks_time_limit(tmp_path, hook_id: str) -> None:
    # Task messages carry the Celery limits their sender chose for its longest
    # script: from a web process with batching off and a 1 s cap on timeouts,
    # a soft limit of 3 s. A job's own hard deadline (1 s + 5 s) never fits
    # in it, so no child takes a job after its task's: Celery delivers each.
    web_settings = {"batch_max_jobs": 0, "max_timeout_ms": 1000}
    with stack(tmp_path, web_settings=web_settings, batch_window_ms=5000) as (api, start_worker):
        jobs, worker = run_backlog(api, start_worker, hook_id, 10, limits={"timeoutMs": 1000})
        assert all(job["status"] == "succeeded" for job in jobs)
        assert taken_from_queue(api, hook_id) == 0
        assert celery_deliveries(worker) == 10


def test_a_child_killed_during_a_taken_job_loses_nothing(tmp_path, hook_id: str) -> None:
    # Only the reaper can bring a taken job back: its message is gone, and the
    # visibility timeout is far away. The window is wide so that the fast job,
    # slowed by a cold start, always ends inside it.
    # One job per take: the job seen running is the one the child runs (a
    # child holding several shows each running: the next test).
    settings = {
        "hard_limit_margin_ms": 1000,
        "visibility_timeout_s": 600,
        "batch_window_ms": 5000,
        "take_batch": 1,
    }
    with stack(tmp_path, **settings) as (api, start_worker):
        api.put_hook(hook_id + "-fast", script=TRIVIAL)
        api.put_hook(hook_id, script=SLOW, limits={"timeoutMs": 3000})
        fast = api.send(hook_id + "-fast").json()["jobId"]
        slow = [api.send(hook_id).json()["jobId"] for _ in range(4)]
        worker = start_worker()

        def running_taken_job() -> dict | None:
            # Celery logs each message it delivers; a taken job has no such line.
            log = worker.log()
            for job_id in slow:
                job = api.job(job_id)
                if job["status"] == "running" and f"run_script[{job_id}] received" not in log:
                    return job
            return None

        taken = wait_until(running_taken_job, timeout_s=30, what="a taken job to run")
        os.kill(int(taken["worker"].rsplit("/", 1)[1]), signal.SIGKILL)
        # deadline (3 s + 1 s margin) + reaper grace (2 s) + sweep interval (1 s)
        jobs = {job_id: api.wait_job(job_id, timeout_s=60) for job_id in [fast, *slow]}
        assert all(job["status"] == "succeeded" for job in jobs.values())
        assert jobs[taken["jobId"]]["attempts"] == 2
        assert jobs[taken["jobId"]]["result"]["body"] == "slow"
        # The fast job's task was redelivered when its child died; it did not run again.
        assert jobs[fast]["attempts"] == 1
        assert worker.proc.poll() is None


def test_a_child_killed_holding_several_jobs_loses_none(tmp_path, hook_id: str) -> None:
    # HOOKLET_TAKE_BATCH=4: the child takes the slow jobs together, runs them
    # in turn and is killed during one. Every job it held comes back at once
    # (its node's watch; the reaper's grace is far away) and ends once; only
    # the job it died under counts the attempt.
    settings = {"reaper_grace_s": 600, "visibility_timeout_s": 600, "batch_window_ms": 5000}
    with stack(tmp_path, take_batch=4, **settings) as (api, start_worker):
        api.put_hook(hook_id + "-fast", script=TRIVIAL)
        api.put_hook(hook_id, script=SLOW, limits={"timeoutMs": 3000})
        fast = api.send(hook_id + "-fast").json()["jobId"]
        slow = [api.send(hook_id).json()["jobId"] for _ in range(4)]
        worker = start_worker()

        def running_a_held_slow_job() -> tuple[int, str] | None:
            # The slow jobs all show "running" from the step that took them;
            # the one the child runs is the one its running marker names (the
            # marker still names the fast job just after the take: a kill
            # there dies under none of them).
            jobs = {j: api.job(j) for j in slow}
            held = [job for job in jobs.values() if job["status"] == "running"]
            if len(held) < 2:
                return None
            pid = int(held[0]["worker"].rsplit("/", 1)[1])
            ran = job_running_in(pid)
            return (pid, ran) if ran in jobs and jobs[ran]["status"] == "running" else None

        pid, died_under = wait_until(
            running_a_held_slow_job, timeout_s=30, what="the child to run one of several held jobs"
        )
        os.kill(pid, signal.SIGKILL)
        jobs = {job_id: api.wait_job(job_id, timeout_s=60) for job_id in [fast, *slow]}
        assert all(job["status"] == "succeeded" for job in jobs.values())
        assert all(jobs[j]["result"]["body"] == "slow" for j in slow)
        assert {j: jobs[j]["attempts"] for j in slow} == {j: 1 + (j == died_under) for j in slow}
        assert worker.proc.poll() is None
