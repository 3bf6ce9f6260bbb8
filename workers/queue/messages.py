"""Celery task messages built by hand, so the intake can write a job and its
task message in one atomic Redis call (one round trip, all or nothing).

The format is Celery's message protocol 2 as kombu's Redis transport stores
it; ``tests/workers/test_messages.py`` checks it against Celery's own builder
and every end-to-end test has a real worker consume it.
"""

from __future__ import annotations

import base64
import os
import socket
import uuid

import orjson

from workers.queue.names import (
    CALLBACKS_QUEUE,
    DELIVER_CALLBACK,
    RUN_SCRIPT,
    SCRIPTS_QUEUE,
    SYNC_QUEUE,
    callback_time_limits,
    run_time_limits,
)
from workers.settings import Settings
from workers.store import keys
from workers.store.lanes.lane import Lane

__all__ = [
    "run_task",
    "callback_task",
    "callback_on_finish",
    "run_script_message",
    "deliver_callback_message",
    "task_message",
]

_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


_ORIGIN: tuple[int, str] | None = None


def _origin() -> str:
    """Celery's ``origin`` header, computed once per process (pid changes on fork)."""
    global _ORIGIN
    if _ORIGIN is None or _ORIGIN[0] != os.getpid():
        _ORIGIN = (os.getpid(), f"gen{os.getpid()}@{socket.gethostname()}")
    return _ORIGIN[1]


def run_task(token_id: str, settings: Settings, lane: Lane) -> tuple[str, bytes]:
    """(queue list, message) queued with a job in ``lane``: what the job store
    pushes. The message is a token, "run the next job" (see
    ``store.lanes.scripts``), whose id is ``token_id`` (the job id of the
    event that queues it: unique); the sync lane's tokens go to the queue
    workers look at first."""
    queue = SYNC_QUEUE if lane.is_sync else SCRIPTS_QUEUE
    return keys.celery_queue(queue), run_script_message(token_id, settings, queue, lane.hook_id)


def callback_task(job_id: str, settings: Settings) -> tuple[str, bytes]:
    """(queue list, message) that delivers ``job_id``'s callback: the one way a
    callback is queued (at a job's end, on a retry, on a redelivery)."""
    return keys.celery_queue(CALLBACKS_QUEUE), deliver_callback_message(job_id, settings)


def callback_on_finish(
    mode: str, callback_url: str | None, job_id: str, settings: Settings
) -> tuple[str, bytes] | None:
    """What ``JobStore.finish`` should push when this job ends: a delivery
    task, for async hooks with a callback URL."""
    if mode != "async" or not callback_url:
        return None
    return callback_task(job_id, settings)


def run_script_message(
    token_id: str, settings: Settings, queue: str = SCRIPTS_QUEUE, hook_id: str = ""
) -> bytes:
    """The ``hooklet.run_script(token_id, hook_id)`` message. Its Celery time
    limits (``run_time_limits``) are those of the longest script the operator
    allows: a token may claim any hook's job. The hook id, of the event that
    queued it, is there for people (Flower's search finds a hook's tasks)."""
    soft_s, hard_s = run_time_limits(settings, settings.max_timeout_ms)
    return task_message(RUN_SCRIPT, queue, [token_id, hook_id], soft_s, hard_s)


def deliver_callback_message(job_id: str, settings: Settings) -> bytes:
    """The ``hooklet.deliver_callback(job_id)`` message for the callbacks queue."""
    soft_s, hard_s = callback_time_limits(settings)
    return task_message(DELIVER_CALLBACK, CALLBACKS_QUEUE, [job_id], soft_s, hard_s)


def task_message(
    task: str, queue: str, args: list[str], soft_s: float | None, hard_s: float | None
) -> bytes:
    task_id = str(uuid.uuid4()) if task != RUN_SCRIPT else args[0]
    body = orjson.dumps([args, {}, _EMBED])
    return orjson.dumps(
        {
            "body": base64.b64encode(body).decode("ascii"),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                "lang": "py",
                "task": task,
                "id": task_id,
                "shadow": None,
                "eta": None,
                "expires": None,
                "group": None,
                "group_index": None,
                "retries": 0,
                "timelimit": [hard_s, soft_s],
                "root_id": task_id,
                "parent_id": None,
                "argsrepr": repr(args),
                "kwargsrepr": "{}",
                "origin": _origin(),
                "ignore_result": True,
                "replaced_task_nesting": 0,
                "stamped_headers": None,
                "stamps": {},
            },
            "properties": {
                "correlation_id": task_id,
                "reply_to": "",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )
