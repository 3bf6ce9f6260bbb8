"""The floors hooklet is measured against, run from ``floor_app``: a
Celery no-op worker, a bare Flask + LPUSH intake and the naive build, each on
the same Redis and with hooklet's own gunicorn and prefetch settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from benchmarks.drain import timed_drain
from stackkit import RedisServer, free_port, hooklet_env, wait_until
from stackkit.processes import ROOT

__all__ = ["celery_floor", "floor_env", "floor_web", "naive_rate", "stop_all"]

APP = "benchmarks.floor_app"


def floor_env(redis_url: str) -> dict[str, str]:
    return {**hooklet_env(redis_url), "PYTHONPATH": str(ROOT)}


def _floor_worker(app: str, queue: str, env: dict[str, str]) -> subprocess.Popen:
    """A 2-child prefork Celery worker for an app of ``floor_app``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            f"{APP}:{app}",
            "worker",
            "-Q",
            queue,
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def floor_web(app: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """gunicorn, with hooklet's settings, serving an app of ``floor_app``;
    returns the process and its URL once it answers."""
    port = free_port()
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            str(ROOT / "config/gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            f"{APP}:{app}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _up(url), timeout_s=30, what=f"floor app {app}")
    return web, url


def _up(url: str) -> bool:
    try:
        return requests.post(url + "/h/up", data=b"x", timeout=1).status_code == 202
    except requests.RequestException:
        return False


def stop_all(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(30)


def celery_floor(stack_redis: RedisServer, tasks: int) -> float:
    """No-op tasks/s through the same Redis, with a 2-child prefork worker."""
    worker = _floor_worker("celery", "floor", floor_env(stack_redis.url))
    try:
        # floor_app connects at import to the Redis named in the environment.
        os.environ["HOOKLET_REDIS_URL"] = stack_redis.url
        from benchmarks import floor_app

        client = stack_redis.client()
        client.delete("floor:done")
        for _ in range(20):  # warm-up, and wait for the worker
            floor_app.noop.apply_async()
        wait_until(lambda: int(client.get("floor:done") or 0) >= 20, timeout_s=60, what="floor")
        client.delete("floor:done")
        started = time.perf_counter()
        for _ in range(tasks):
            floor_app.noop.apply_async()
        wait_until(
            lambda: int(client.get("floor:done") or 0) >= tasks,
            timeout_s=600,
            interval_s=0.02,
            what="floor tasks",
        )
        return tasks / (time.perf_counter() - started)
    finally:
        stop_all(worker)


def naive_rate(stack_redis: RedisServer, script: str, events: int) -> float:
    """Events/s of the naive build (``floor_app``), measured like hooklet's:
    HTTP requests from the first until the last run is done."""
    env = floor_env(stack_redis.url)
    worker = _floor_worker("naive_celery", "naive", env)
    web, url = floor_web("naive_web", env)
    client = stack_redis.client()
    client.set("naive:script:n", script)

    def done() -> int:
        return int(client.get("naive:done:n") or 0)

    try:
        timed_drain(url, "/h/n", b"{}", 200, done)  # warm-up, and wait for the worker
        return timed_drain(url, "/h/n", b"{}", events, done)
    finally:
        stop_all(web, worker)
