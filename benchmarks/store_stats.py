"""Micro-benchmark: Redis time per call (INFO commandstats, usec_per_call) of
the job store's CREATE and FINISH steps, with the console's stats on, against
a redis-server of its own on loopback.

    .venv/bin/python -m benchmarks.store_stats [jobs]

Each job is created (with an event's stats), started and finished (with a
job's stats), as the intake and a worker child record them. Where the store
takes no ``stats=`` any more, the stats go to a ``StatsBuffer`` flushed once
at the end, and its one call is reported too.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from stackkit import RedisServer
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import StatsBuffer


def _evalsha(client) -> dict[str, int]:
    """EVALSHA's calls and usec since the last reset (commandstats are not
    kept per script: each phase runs one kind of step, then reads them)."""
    info = client.info("commandstats").get("cmdstat_evalsha", {})
    return {"calls": info.get("calls", 0), "usec": info.get("usec", 0)}


def main(n: int = 5000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp)).start()
        try:
            client = server.client()
            store = JobStore(client, retention_s=600)
            buffer = StatsBuffer(client, flush_s=3600)
            buffer.add(stats.event_write("warm-up", "accepted"))
            buffer.flush()  # loads the flush's script
            queue = "bench:queue"
            event = EventRequest("POST", "/", "", {}, {}, "", b"{}")
            ids = []
            hooks = [f"h{i}" for i in range(20)]
            client.config_resetstat()
            for i in range(n):
                job_id, hook = new_job_id(), hooks[i % len(hooks)]
                write = stats.event_write(hook, "accepted", queue)
                store.create(job_id, hook, 1, event, 10, (queue, b"{}"))
                buffer.add(write)
                ids.append((job_id, hook))
            created = _evalsha(client)
            client.config_resetstat()
            for job_id, _ in ids:
                store.start(job_id, "node/1", 1000)
            client.config_resetstat()
            for i, (job_id, hook) in enumerate(ids):
                outcome = Outcome(JobStatus.SUCCEEDED, 1.5 + i % 7, [])
                write = stats.job_write(hook, "succeeded", None, 1.5 + i % 7, ("n/1", 2**25, 3))
                store.finish(job_id, outcome, counters=[("jobs_finished", 1)])
                buffer.add(write)
            finished = _evalsha(client)
            print(f"stats buffered; {n} jobs")
            for name, s in (("CREATE", created), ("FINISH", finished)):
                print(f"  {name}: {s['calls']} calls, {s['usec'] / s['calls']:.2f} usec_per_call")
            client.config_resetstat()
            buffer.flush()
            s = _evalsha(client)
            print(f"  one flush of {2 * n} writes: {s['calls']} EVALSHA, {s['usec']} usec")
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
