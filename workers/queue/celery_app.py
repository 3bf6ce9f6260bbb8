"""The Celery app, built from settings in one function. It registers no
tasks: the worker's entry point (``workers.app``) does, so the web side can
build an app to send and inspect without loading the executor."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_ready
from kombu import Queue

from workers.logs import configure_logging
from workers.queue import kombu_fixes
from workers.queue.names import (
    CALLBACKS_QUEUE,
    DELIVER_CALLBACK,
    RUN_SCRIPT,
    SCRIPTS_QUEUE,
    SHADOW_QUEUE,
    SHADOW_RUN,
    SYNC_QUEUE,
    visibility_timeout_s,
)
from workers.settings import Settings
from workers.store.connection import is_sentinel_url
from workers.store.redis_version import RedisTooOld, require_redis

__all__ = ["make_celery"]


def make_celery(settings: Settings) -> Celery:
    kombu_fixes.install()  # a broker failover must not end the worker node
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
        # The sync lane's queue first: with the "priority" order below, a
        # worker's BRPOP names it first, so Redis pops its tokens before any
        # of the scripts queue's (kombu's default, round robin, alternates).
        task_queues=[
            Queue(SYNC_QUEUE),
            Queue(SCRIPTS_QUEUE),
            Queue(CALLBACKS_QUEUE),
            Queue(SHADOW_QUEUE),
        ],
        task_default_queue=SCRIPTS_QUEUE,
        task_routes={
            RUN_SCRIPT: {"queue": SCRIPTS_QUEUE},
            DELIVER_CALLBACK: {"queue": CALLBACKS_QUEUE},
            SHADOW_RUN: {"queue": SHADOW_QUEUE},
        },
        broker_transport_options={
            "visibility_timeout": visibility_timeout_s(settings),
            "queue_order_strategy": "priority",
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
    if is_sentinel_url(settings.redis_url):
        # kombu's Sentinel transport (and Flower's broker view) find the
        # master by this name and follow a failover on reconnect.
        app.conf.broker_transport_options.update(
            master_name=settings.redis_sentinel_master,
            sentinel_kwargs={"socket_timeout": 1, "socket_connect_timeout": 1},
        )
    app.hooklet_settings = settings  # type: ignore[attr-defined]
    configure_logging()
    worker_ready.connect(_refuse_old_redis, weak=False, dispatch_uid="hooklet.redis_version")
    return app


def _refuse_old_redis(sender: Any = None, **_: object) -> None:
    """A worker node stops, saying why, on a Redis older than hooklet needs."""
    try:
        require_redis(sender.app.hooklet_settings)
    except RedisTooOld as exc:
        logging.getLogger(__name__).critical("%s", exc)
        raise SystemExit(1) from exc  # Celery's signal dispatch swallows exceptions
