"""Celery tasks: thin wrappers over ``Executor`` and ``Deliverer``.

Task arguments are a job id and its hook id, so Flower never shows a request
body or a secret, and its search finds a hook's tasks. A task whose job failed
(or any job it took off the queue) raises ``JobsFailed`` after the outcomes
are recorded: Flower shows it as FAILURE; the message is acked, not retried.
"""

from __future__ import annotations

import os
import time
from typing import Any, TypeVar

from celery import Celery, Task
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from workers import tracing
from workers.delivery.callbacks import Deliverer
from workers.errors import JobsFailed
from workers.queue.executor import Executor
from workers.queue.names import DELIVER_CALLBACK, RUN_SCRIPT, SHADOW_RUN
from workers.sandbox.malloc import limit_arenas
from workers.settings import Settings
from workers.store.stats.buffer import flush_process_buffers

__all__ = ["register"]

T = TypeVar("T")

_services: dict[type, Any] = {}
_NO_LIMIT_S = 10**9  # a task without Celery time limits


def _service(kind: type[T], settings: Settings) -> T:
    """The child's ``kind`` (Executor, Deliverer), built on first use, after fork."""
    service = _services.get(kind)
    if service is None or service.settings is not settings:
        # Traces, if the environment asks: here, in the process that runs
        # tasks (a prefork child, or a threads pool's node), after any fork.
        tracing.start("hooklet-worker")
        service = _services[kind] = kind(settings)
    return service


def register(app: Celery, settings: Settings) -> None:
    # ``throws``: an expected failure, logged in one line without a traceback.
    @app.task(name=RUN_SCRIPT, bind=True, ignore_result=True, throws=(JobsFailed,))
    def run_script(self: Task, token_id: str, hook_id: str = "") -> str:
        """Run the next queued job (``token_id`` and ``hook_id`` name the
        event that queued this token; the job run may be another's: see
        store.lane_scripts)."""
        started, started_at = time.monotonic(), time.time()
        worker = f"{self.request.hostname}/{os.getpid()}"
        executor = _service(Executor, settings)
        # Jobs taken after this one must end before this task's own limit
        # (the message's, which its sender chose), or Celery would cut them.
        hard_s, soft_s = self.request.timelimit or (None, None)
        limit_s = soft_s or hard_s or _NO_LIMIT_S
        batch = executor.batch(
            worker, started + settings.batch_window_ms / 1000, started_at + limit_s
        )
        ran = executor.run(token_id, worker, batch)
        if ran is None:
            return "nothing queued"
        if ran.failures:
            raise JobsFailed.of(ran.failures, ran.jobs)
        return ran.status.value

    @app.task(name=DELIVER_CALLBACK, bind=True, ignore_result=True)
    def deliver_callback(self: Task, job_id: str, hook_id: str = "") -> str:
        return _service(Deliverer, settings).deliver(job_id)

    # Acknowledged when taken: a shadow run whose child dies (a script that
    # ignores its timeout, the RSS cap) is lost, never delivered again and again.
    @app.task(name=SHADOW_RUN, bind=True, ignore_result=True, acks_late=False)
    def shadow_run(self: Task, job_id: str, hook_id: str = "") -> str:
        """Run ``hook_id``'s draft on the live job ``job_id``'s tape (workers/shadow)."""
        from workers.shadow.runner import ShadowRunner  # the shadow node's children only

        return _service(ShadowRunner, settings).run(job_id, hook_id)

    @worker_ready.connect(weak=False)
    def start_node_threads(sender: object = None, **_: object) -> None:
        """The reaper, the node's report and the watch on its children (a dead
        child's jobs are queued again at once), in the node's main process."""
        from workers.queue.child_watch import ChildWatch
        from workers.queue.node_report import NodeReporter
        from workers.queue.reaper import Reaper

        Reaper(settings).start()
        NodeReporter(settings, sender).start()
        ChildWatch(settings, sender).start()

    @worker_process_init.connect(weak=False)
    def tune_allocator(**_: object) -> None:
        limit_arenas()
        tracing.start("hooklet-worker")  # before the child's first task, if asked

    @worker_process_shutdown.connect(weak=False)
    def close_isolates(**_: object) -> None:
        for service in _services.values():
            if hasattr(service, "pool"):  # Executor, ShadowRunner: their isolates
                service.pool.clear()
        flush_process_buffers()  # the child's last second of stats
        tracing.flush()  # its last spans, waiting a second at most

    @worker_shutdown.connect(weak=False)
    def flush_node_spans(**_: object) -> None:
        tracing.flush()  # a threads pool's spans (a prefork node's main makes none)
