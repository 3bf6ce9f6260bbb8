"""Floors for the benchmarks (``benchmarks.floors``), kept apart from hooklet's code.

- ``intake``: a bare Flask endpoint that LPUSHes the body to Redis and answers
  202, served by gunicorn with hooklet's own gunicorn settings;
- ``celery``: a Celery app with a no-op task (one Redis INCR, so completion can
  be counted), configured like hooklet's scripts queue (acks late, the same
  prefetch and task-event settings);
- ``naive_web`` + ``naive_celery``: the naive hooklet the performance issue
  measured: a Flask endpoint that hands the body to a Celery task (Celery's
  defaults) after recording the job, and a task that marks it running, runs
  the script in a fresh mini-racer isolate, awaits it and stores the result.
  Leaner than hooklet: no runtime (console, TextDecoder...), no logs, no
  limits beyond mini-racer's timeout, no history or metrics.
"""

from __future__ import annotations

import base64
import json
import os
import uuid

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


naive_web = Flask("naive")
naive_celery = Celery("naive", broker=REDIS_URL, set_as_current=False)
naive_celery.conf.update(task_default_queue="naive", worker_hijack_root_logger=False)


@naive_web.post("/h/<hook>")
def naive_intake(hook: str):  # noqa: ANN201
    job_id = uuid.uuid4().hex
    body = base64.b64encode(request.get_data()).decode()
    _client.hset(f"naive:job:{job_id}", mapping={"hook": hook, "status": "queued"})
    naive_run.delay(job_id, hook, dict(request.headers), body)
    return {"jobId": job_id}, 202


@naive_celery.task(name="naive.run")
def naive_run(job_id: str, hook: str, headers: dict, body: str) -> None:
    from py_mini_racer import JSPromise, MiniRacer

    key = f"naive:job:{job_id}"
    _client.hset(key, "status", "running")
    script = _client.get(f"naive:script:{hook}").decode()
    context = {"method": "POST", "headers": headers, "body": list(base64.b64decode(body))}
    isolate = MiniRacer()
    status, result = "failed", None
    try:
        isolate.eval(f"globalThis.context = {json.dumps(context)};")
        value = isolate.eval(script, timeout_sec=5)
        result = value.get(timeout=5) if isinstance(value, JSPromise) else value
        result = dict(result) if hasattr(result, "keys") else result
        status = "succeeded"
    finally:
        isolate.close()
        _client.hset(key, mapping={"status": status, "result": json.dumps(result)})
        _client.incr(f"naive:done:{hook}")
