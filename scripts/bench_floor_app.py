"""Floors for scripts/bench, kept apart from hooklet's code.

- ``intake``: a bare Flask endpoint that LPUSHes the body to Redis and answers
  202, served by gunicorn with hooklet's own gunicorn settings;
- ``celery``: a Celery app with a no-op task (one Redis INCR, so completion can
  be counted), configured like hooklet's scripts queue (acks late, the same
  prefetch and task-event settings).
"""

from __future__ import annotations

import os

import redis
from celery import Celery
from flask import Flask, request

REDIS_URL = os.environ.get("HOOKLET_REDIS_URL", "redis://127.0.0.1:6379/0")

intake = Flask(__name__)
_client = redis.Redis.from_url(REDIS_URL)


@intake.post("/h/<hook>")
def push(hook: str):  # noqa: ANN201
    _client.lpush(f"floor:{hook}", request.get_data())
    return {"ok": True}, 202


celery = Celery("floor", broker=REDIS_URL, set_as_current=False)
celery.conf.update(
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("HOOKLET_PREFETCH_MULTIPLIER", "4")),
    worker_send_task_events=os.environ.get("HOOKLET_TASK_EVENTS", "false") == "true",
    task_send_sent_event=os.environ.get("HOOKLET_TASK_EVENTS", "false") == "true",
    task_default_queue="floor",
    worker_hijack_root_logger=False,
)


@celery.task(name="floor.noop")
def noop() -> None:
    _client.incr("floor:done")
