"""``GET /api/workers``: the worker fleet, from what each node reports to
Redis every few seconds (``store.nodes``): no broadcast, no waiting on a
Celery inspect timeout."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify

from app import services
from app.access import protect
from workers.queue.names import CALLBACKS_QUEUE, SCRIPTS_QUEUE, SYNC_QUEUE
from workers.store import keys
from workers.store.lanes.lane import queued_counts
from workers.store.metrics import parse_child_entry
from workers.store.nodes import read_reports

__all__ = ["bp"]

bp = protect(Blueprint("fleet", __name__, url_prefix="/api"))


@bp.get("/workers")
def workers() -> Response:
    client = services.dispatcher().redis
    queue_names = (SYNC_QUEUE, SCRIPTS_QUEUE, CALLBACKS_QUEUE)
    with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.child_rss())
        for name in queue_names:
            pipe.llen(keys.celery_queue(name))
        pipe.zcard(keys.running())
        raw_rss, *depths, running = pipe.execute()
    rss = {k.decode(): v.decode() for k, v in raw_rss.items()}
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
    queues = dict(zip(queue_names, depths, strict=True))
    # Jobs waiting to start: the sync lane, and each hook with a backlog (the
    # queues above hold task messages, which are tokens: see store/lanes/lane.py).
    sync_queued, per_hook = queued_counts(client)
    return jsonify(
        {
            "nodes": nodes,
            "queues": queues,
            "syncQueued": sync_queued,
            "hooks": [{"hook": hook, "queued": n} for hook, n in per_hook.items()],
            "jobsRunning": running,
            "at": time.time(),
        }
    )
