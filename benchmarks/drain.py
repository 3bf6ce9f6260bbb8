"""Async throughput as a sender sees it: events/s from the first request
until the last job has ended, counted from the store's own metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis

from benchmarks import loadgen
from stackkit.processes import wait_until
from workers.store import keys, metrics

if TYPE_CHECKING:
    from benchmarks.stack import Stack

__all__ = ["drain_rate", "finished", "finished_any", "timed_drain"]


def finished(client: redis.Redis, hook: str, status: str = "succeeded") -> int:
    """How many of ``hook``'s jobs ended with ``status`` (the metrics hash)."""
    raw = client.hget(keys.metrics(), metrics.field("jobs_finished", hook=hook, status=status))
    return int(raw or 0)


def finished_any(client: redis.Redis, hook: str) -> int:
    """How many of ``hook``'s jobs ended, succeeded or failed."""
    return finished(client, hook, "succeeded") + finished(client, hook, "failed")


def timed_drain(url: str, path: str, body: bytes, count: int, done: Callable[[], int]) -> float:
    """Events/s from the first of ``count`` requests until ``done()`` has
    grown by ``count``; requests go out as fast as 8 connections allow."""

    def make(_: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", path, body, {"Content-Type": "application/json"}

    before = done()
    started = time.perf_counter()
    sender = threading.Thread(target=loadgen.fixed_rate, args=(url, make, 5000, count / 5000, 8))
    sender.start()
    wait_until(
        lambda: done() - before >= count,
        timeout_s=900,
        interval_s=0.05,
        what=f"{count} events to {path}",
    )
    elapsed = time.perf_counter() - started
    sender.join()
    return count / elapsed


def drain_rate(stack: Stack, hook: str, body: bytes, events: int) -> float:
    """Events/s from the first request until the last job succeeded."""
    client = stack.redis.client()
    return timed_drain(stack.web.url, f"/h/{hook}", body, events, lambda: finished(client, hook))
