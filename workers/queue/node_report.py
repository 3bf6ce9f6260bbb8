"""A worker node's report of itself (``store.nodes``): a thread in the node's
main process, started when the node is ready, writing every few seconds."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import redis
from celery.worker import state

from workers.settings import Settings
from workers.store.connection import client_for
from workers.store.nodes import REPORT_EVERY_S, NodeReport, write_report

__all__ = ["NodeReporter"]

log = logging.getLogger("hooklet.nodes")


class NodeReporter:
    def __init__(self, settings: Settings, consumer: Any) -> None:
        self.redis = client_for(settings, retries="patient")
        self._consumer = consumer  # Celery's consumer: its controller owns the pool
        self._started = time.monotonic()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="hooklet-node-report", daemon=True)
        thread.start()
        return thread

    def report(self) -> NodeReport:
        pool_of_children = getattr(self._consumer.controller, "pool", None)  # None at shutdown
        pool = (pool_of_children.info if pool_of_children is not None else None) or {}
        return {
            "name": self._consumer.hostname,
            "pid": os.getpid(),
            "concurrency": pool.get("max-concurrency"),
            "processes": list(pool.get("processes") or []),
            "active": len(state.active_requests),
            "processed": sum(state.total_count.values()),
            "uptimeS": round(time.monotonic() - self._started),
            "at": time.time(),
        }

    def _loop(self) -> None:
        while True:
            try:
                write_report(self.redis, self.report())
            except (redis.RedisError, OSError) as exc:  # Redis is down; report later
                log.debug("node report failed: %s", exc)
            except Exception:  # noqa: BLE001 - keep the thread alive, say why
                log.exception("node report failed")
            time.sleep(REPORT_EVERY_S)
