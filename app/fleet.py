"""``GET /api/workers``: the worker fleet, from what each node reports to
Redis every few seconds (``store.nodes``): no broadcast, no waiting on a
Celery inspect timeout."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify

from app import services
from app.auth import protect
from workers.queue.names import CALLBACKS_QUEUE, SCRIPTS_QUEUE, SYNC_QUEUE
from workers.store import keys
from workers.store.lanes import queued_counts
from workers.store.metrics import parse_child_entry
from workers.store.nodes import read_reports

__all__ = ["bp"]

bp = protect(Blueprint("fleet", __name__, url_prefix="/api"))


@bp.get("/workers")
def workers() -> Response:
    client = services.dispatcher().redis
    rss = {k.decode(): v.decode() for k, v in client.hgetall(keys.child_rss()).items()}
    nodes = []
    for report in read_reports(client):
        host = report["name"].split("@", 1)[1]
        children = []
        for pid in report["processes"]:
            rss_bytes, at, isolates = parse_child_entry(rss.get(f"{host}/{pid}", ""))
            children.append(
                {
                    "pid": pid,
                    "rssBytes": rss_bytes or None,
                    "warmIsolates": isolates,
                    "reportedAt": at or None,
                }
            )
        nodes.append(
            {
                "name": report["name"],
                "concurrency": report["concurrency"],
                "children": children,
                "active": report["active"],
                "processed": report["processed"],
                "uptimeS": report["uptimeS"],
                "reportedAt": report["at"],
            }
        )
    queues = {
        SYNC_QUEUE: client.llen(keys.celery_queue(SYNC_QUEUE)),
        SCRIPTS_QUEUE: client.llen(keys.celery_queue(SCRIPTS_QUEUE)),
        CALLBACKS_QUEUE: client.llen(keys.celery_queue(CALLBACKS_QUEUE)),
    }
    # Jobs waiting to start: the sync lane, and each hook with a backlog (the
    # queues above hold task messages, which are tokens: see store/lanes.py).
    sync_queued, per_hook = queued_counts(client)
    return jsonify(
        {
            "nodes": nodes,
            "queues": queues,
            "syncQueued": sync_queued,
            "hooks": [{"hook": hook, "queued": n} for hook, n in per_hook.items()],
            "jobsRunning": client.zcard(keys.running()),
            "at": time.time(),
        }
    )
