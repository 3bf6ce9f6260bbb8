"""Celery task messages built by hand, so the intake can write a job and its
task message in one Redis transaction (one round trip, all or nothing).

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

from workers.celery_app import RUN_SCRIPT, SCRIPTS_QUEUE
from workers.settings import Settings

__all__ = ["run_script_message"]

_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def run_script_message(job_id: str, timeout_ms: int, settings: Settings) -> bytes:
    """The ``hooklet.run_script(job_id)`` message, with Celery's time limits a
    margin above the script's own timeout."""
    soft_s = (timeout_ms + settings.soft_limit_margin_ms) / 1000
    hard_s = (timeout_ms + settings.hard_limit_margin_ms) / 1000
    body = orjson.dumps([[job_id], {}, _EMBED])
    return orjson.dumps(
        {
            "body": base64.b64encode(body).decode("ascii"),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                "lang": "py",
                "task": RUN_SCRIPT,
                "id": job_id,
                "shadow": None,
                "eta": None,
                "expires": None,
                "group": None,
                "group_index": None,
                "retries": 0,
                "timelimit": [hard_s, soft_s],
                "root_id": job_id,
                "parent_id": None,
                "argsrepr": repr([job_id]),
                "kwargsrepr": "{}",
                "origin": f"gen{os.getpid()}@{socket.gethostname()}",
                "ignore_result": True,
                "replaced_task_nesting": 0,
                "stamped_headers": None,
                "stamps": {},
            },
            "properties": {
                "correlation_id": job_id,
                "reply_to": "",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": SCRIPTS_QUEUE},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )
