"""The Celery app, built from settings in one function."""

from __future__ import annotations

import math

from celery import Celery
from kombu import Queue

from workers.logs import configure_logging
from workers.settings import Settings

__all__ = [
    "make_celery",
    "run_time_limits",
    "SCRIPTS_QUEUE",
    "CALLBACKS_QUEUE",
    "RUN_SCRIPT",
    "DELIVER_CALLBACK",
]

SCRIPTS_QUEUE = "scripts"
CALLBACKS_QUEUE = "callbacks"
RUN_SCRIPT = "hooklet.run_script"
DELIVER_CALLBACK = "hooklet.deliver_callback"


def visibility_timeout_s(settings: Settings) -> int:
    """Above the longest hard time limit, so Redis never hands a running task
    to a second worker; low enough that a dead node's tasks come back soon."""
    if settings.visibility_timeout_s:
        return settings.visibility_timeout_s
    _, longest_hard_s = run_time_limits(settings, settings.max_timeout_ms)
    return math.ceil(longest_hard_s) + 30


def run_time_limits(settings: Settings, timeout_ms: int) -> tuple[float, float]:
    """Celery's (soft, hard) time limits in seconds for running a job whose
    script may take ``timeout_ms``: a margin above it, plus room for the jobs
    the child may take off the queue after it (``Executor.run``). The child
    takes only jobs whose own hard deadline fits in what is left of its task's
    soft limit; each is held to its own timeout by the child's watchdog, and
    these limits are the backstop if the watchdog itself is stuck."""
    room_ms = 0
    if settings.batch_max_jobs > 0:
        room_ms = settings.batch_window_ms + settings.max_timeout_ms + settings.hard_limit_margin_ms
    soft_ms = timeout_ms + settings.soft_limit_margin_ms + room_ms
    hard_ms = timeout_ms + settings.hard_limit_margin_ms + room_ms
    return soft_ms / 1000, hard_ms / 1000


def make_celery(settings: Settings) -> Celery:
    app = Celery("hooklet", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,  # the job store records results
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=settings.prefetch_multiplier,
        task_queues=[Queue(SCRIPTS_QUEUE), Queue(CALLBACKS_QUEUE)],
        task_default_queue=SCRIPTS_QUEUE,
        task_routes={
            RUN_SCRIPT: {"queue": SCRIPTS_QUEUE},
            DELIVER_CALLBACK: {"queue": CALLBACKS_QUEUE},
        },
        broker_transport_options={
            "visibility_timeout": visibility_timeout_s(settings),
            # Sweep for tasks of a vanished node every few seconds (kombu's
            # default is about every 100 s).
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # reconnect for as long as it takes
        broker_pool_limit=10,
        worker_max_tasks_per_child=settings.max_tasks_per_child,
        worker_max_memory_per_child=settings.max_memory_per_child_mb * 1024,  # KiB
        worker_send_task_events=settings.task_events,
        task_send_sent_event=settings.task_events,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        timezone="UTC",
    )
    app.hooklet_settings = settings  # type: ignore[attr-defined]
    configure_logging()
    from workers import tasks

    tasks.register(app, settings)
    return app
