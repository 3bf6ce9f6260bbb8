"""Micro-benchmark: Redis's own CPU per job for each Lua step of the async
path (CREATE, TAKE_MANY, FINISH) and for a drain recorded one job per call
against batches of K (``HOOKLET_TAKE_BATCH``: one FINISH call records K
outcomes and takes the next K), on a redis-server of its own.

    .venv/bin/python -m benchmarks.store_drain [jobs] [rounds]

Redis CPU is ``INFO cpu`` (user + sys, every thread) over the phase, divided
by the jobs: less sensitive to a loaded machine than throughput; EVALSHA's
``usec`` (``INFO commandstats``) is wall time inside the script. Commandstats
are not kept per script, so each phase runs one kind of step. Medians over
``rounds``, each on a fresh database of ``jobs`` queued jobs over 4 hooks.
"""

from __future__ import annotations

import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from stackkit import RedisServer
from workers.queue.messages import run_task
from workers.queue.names import RUN_SCRIPT, SCRIPTS_QUEUE, SYNC_QUEUE
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.jobs.finish_step import finish_step
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Lane, TakeFrom, Taken

EVENT = EventRequest("POST", "/", "", {}, {"content-type": "application/json"}, "127.0.0.1", b"{}")
DONE = Outcome(
    JobStatus.SUCCEEDED, 0.4, [], result={"statusCode": 200, "headers": {}, "body": b"ok"}
)
HOOKS = [f"h{i}" for i in range(4)]
SETTINGS = Settings()


def _cpu_s(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _measure(client: redis.Redis, jobs: int, run: Callable[[], None]) -> tuple[float, float]:
    """(Redis CPU µs, EVALSHA usec) per job of ``run``."""
    client.config_resetstat()
    before = _cpu_s(client)
    run()
    cpu = (_cpu_s(client) - before) / jobs * 1e6
    usec = client.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0) / jobs
    return cpu, usec


def _take_from() -> TakeFrom:
    sync, queue = keys.celery_queue(SYNC_QUEUE), keys.celery_queue(SCRIPTS_QUEUE)
    return TakeFrom(sync, queue, RUN_SCRIPT, "node/1", 1000, time.time() + 3600)


def _recording(job: Taken) -> Recording:
    hook = (job.raw or {}).get(b"hookId", b"").decode()
    counters = metrics.job_fields(hook, "succeeded", None, 0.0004)
    counters.append((metrics.field("jobs_taken_from_queue", hook=hook), 1))
    step = functools.partial(
        finish_step, 600, job.job_id, DONE, None, counters, ("node/1", "1 2 3")
    )
    return Recording(step)


class _Bench:
    def __init__(self, client: redis.Redis, jobs: int) -> None:
        self.client, self.jobs = client, jobs
        self.store, self.batched = JobStore(client, 600), Batched(client)

    def create(self) -> None:
        self.client.flushdb()
        for i in range(self.jobs):
            job_id, hook = new_job_id(), HOOKS[i % len(HOOKS)]
            lane = Lane(hook, 1_000_000)
            message = run_task(job_id, SETTINGS, lane)
            self.store.create(job_id, hook, 1, EVENT, 10, message, lane=lane,
                              extra={"timeoutMs": 5000})  # fmt: skip

    def take_all(self, k: int) -> list[Taken]:
        taken: list[Taken] = []
        while got := self.batched.take(_take_from(), k):
            taken += got
        return taken

    def one_by_one(self) -> None:
        """Before batches: each FINISH takes the next job inside its own script."""
        job = self.store.take_queued(_take_from())
        while job is not None:
            hook = (job.raw or {}).get(b"hookId", b"").decode()
            counters = metrics.job_fields(hook, "succeeded", None, 0.0004)
            counters.append((metrics.field("jobs_taken_from_queue", hook=hook), 1))
            finished = self.store.finish(
                job.job_id, DONE, None, counters, ("node/1", "1 2 3"), take=_take_from()
            )
            job = finished.taken

    def batched_drain(self, k: int) -> None:
        held = self.batched.take(_take_from(), k)
        while held:
            recordings = [_recording(job) for job in held]
            held = self.batched.record(recordings, _take_from(), k)[1]


def _extend(into: list[Taken], take_all: Callable[[int], list[Taken]], k: int) -> None:
    into.extend(take_all(k))


def _record_each(batched: Batched, taken: list[Taken]) -> None:
    for job in taken:
        batched.record([_recording(job)], None, 0)


def main(jobs: int = 2000, rounds: int = 3) -> None:
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp)).start()
        try:
            client = server.client()
            bench = _Bench(client, jobs)
            for _ in range(rounds):
                client.flushdb()
                results.setdefault("CREATE, per call", []).append(
                    _measure(client, jobs, bench.create)
                )
                taken: list[Taken] = []
                for k in (1, 4):
                    bench.create()
                    taken = []
                    took = functools.partial(_extend, taken, bench.take_all, k)
                    results.setdefault(f"TAKE_MANY K={k}, per job", []).append(
                        _measure(client, jobs, took)
                    )
                record_each = functools.partial(_record_each, bench.batched, taken)
                results.setdefault("FINISH alone, per call", []).append(
                    _measure(client, jobs, record_each)
                )
                bench.create()
                results.setdefault("drain, one outcome + one take per call", []).append(
                    _measure(client, jobs, bench.one_by_one)
                )
                for k in (1, 4, 8):
                    bench.create()
                    results.setdefault(f"drain, K={k} (one FINISH: K outcomes + take)", []).append(
                        _measure(client, jobs, lambda k=k: bench.batched_drain(k))
                    )
        finally:
            server.stop()
    print(f"Redis per job, {jobs} jobs over {len(HOOKS)} hooks, median of {rounds} round(s)")
    print(f"  {'step':<40}{'Redis CPU µs':>14}{'EVALSHA usec':>14}   rounds (CPU µs)")
    for name, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        usec = statistics.median(r[1] for r in runs)
        each = ", ".join(f"{r[0]:.0f}" for r in runs)
        print(f"  {name:<40}{cpu:>14.1f}{usec:>14.1f}   {each}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
