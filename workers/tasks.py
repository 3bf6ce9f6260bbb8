"""Celery tasks: thin wrappers over ``Executor`` and ``Deliverer``.

Task arguments are job ids only, so Flower never shows a request body or a
secret.
"""

from __future__ import annotations

import os

from celery import Celery, Task
from celery.signals import worker_process_shutdown, worker_ready

from workers.celery_app import DELIVER_CALLBACK, RUN_SCRIPT
from workers.delivery import Deliverer
from workers.execution import Executor
from workers.settings import Settings

__all__ = ["register"]

_executor: Executor | None = None


def executor(settings: Settings) -> Executor:
    """The child's executor, built on first use (after fork)."""
    global _executor
    if _executor is None or _executor.settings is not settings:
        _executor = Executor(settings)
    return _executor


_deliverer: Deliverer | None = None


def deliverer(settings: Settings) -> Deliverer:
    global _deliverer
    if _deliverer is None or _deliverer.settings is not settings:
        _deliverer = Deliverer(settings)
    return _deliverer


def register(app: Celery, settings: Settings) -> None:
    @app.task(name=RUN_SCRIPT, bind=True, ignore_result=True)
    def run_script(self: Task, job_id: str) -> str:
        worker = f"{self.request.hostname}/{os.getpid()}"
        return executor(settings).run(job_id, worker).value

    @app.task(name=DELIVER_CALLBACK, bind=True, ignore_result=True)
    def deliver_callback(self: Task, job_id: str) -> str:
        return deliverer(settings).deliver(job_id)

    @worker_ready.connect(weak=False)
    def start_reaper(sender: object = None, **_: object) -> None:
        from workers.reaper import Reaper

        Reaper(settings, app).start()

    @worker_process_shutdown.connect(weak=False)
    def close_isolates(**_: object) -> None:
        if _executor is not None:
            _executor.pool.clear()
