"""``scripts/bench isolation``: no hook can stall another (issue 14).

Four measurements on one stack (redis-server, a worker node with 2
children, gunicorn with 2 processes), each beside its baseline from the same
run:

1. async intake latency (p50/p99/max) at a fixed rate, alone (before and
   after) and while 40 slow sync requests (4 hooks x 10, a 3 s script
   each) wait;
2. a trivial sync hook's latency, idle and with 3,000 events of a 10 ms
   async script queued (and how many answers were the 202 fallback);
3. the start delay of a new event on hook B, idle and while hook A has
   5,000 events queued;
4. how many sync requests one web node holds waiting at once (target 2,000),
   and whether every one of them is answered.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from benchmarks import loadgen
from benchmarks.hooks import TRIVIAL
from stackkit import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys

SLOW_SYNC = "(async () => { await new Promise(r => setTimeout(r, 3000)); return { body: 's' }; })()"
BUSY_10MS = (
    "(() => { const end = Date.now() + 10; while (Date.now() < end) {} return { body: 'a' }; })()"
)

__all__ = ["isolation_scenario"]


class _Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis = RedisServer(workdir).start()
        self.env = hooklet_env(self.redis.url)
        self.worker: Worker | None = None
        self.start_worker()
        self.web = Web({**self.env, "HOOKLET_WEB_WORKERS": "2", "HOOKLET_ACCESS_LOG": ""}, workdir)
        self.web.start()
        self.api = Api(self.web.url)
        self.client = self.redis.client()

    def start_worker(self) -> None:
        self.worker = Worker(self.env, self.workdir, concurrency=2).start()

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def close(self) -> None:
        self.web.stop()
        self.stop_worker()
        self.redis.stop()


def _post(path: str) -> loadgen.RequestFactory:
    return lambda _: ("POST", path, b'{"n":1}', {"Content-Type": "application/json"})


def _burst(url: str, path: str, count: int, connections: int = 8) -> None:
    """Send ``count`` requests as fast as ``connections`` keep-alive clients can."""
    lock = threading.Lock()
    left = iter(range(count))

    def work() -> None:
        client = loadgen._Client(url)  # noqa: SLF001 - the load generator's own client
        while True:
            with lock:
                if next(left, None) is None:
                    return
            client.request("POST", path, b"{}", {})

    loadgen._in_threads(work, connections)  # noqa: SLF001


def _quiet(stack: _Stack) -> None:
    """Wait until nothing is queued or running: each part starts from idle."""
    client = stack.client

    def idle() -> bool:
        return not (
            client.llen(keys.ready_sync_hooks())
            or client.llen(keys.ready_hooks())
            or client.zcard(keys.running())
        )

    wait_until(idle, timeout_s=600, interval_s=0.2, what="an idle stack")


def _intake_under_slow_sync(stack: _Stack, quick: bool) -> dict[str, Any]:
    seconds, rate = (4 if quick else 10), 100
    stack.api.put_hook("echo", script=TRIVIAL)
    for n in range(4):  # the case: 4 sync hooks, a 3 s script, 10 requests each
        stack.api.put_hook(
            f"slow-{n}", mode="sync", script=SLOW_SYNC, limits={"timeoutMs": 5000, "waitMs": 60_000}
        )
    loadgen.fixed_rate(stack.web.url, _post("/h/echo"), rate=50, duration_s=2)  # warm-up
    alone = loadgen.fixed_rate(stack.web.url, _post("/h/echo"), rate=rate, duration_s=seconds)
    answers: list[int] = []

    def wait_once(hook: str) -> None:
        try:
            answers.append(requests.post(f"{stack.web.url}/h/{hook}", timeout=120).status_code)
        except requests.RequestException:
            answers.append(0)

    holders = [threading.Thread(target=wait_once, args=(f"slow-{n % 4}",)) for n in range(40)]
    for thread in holders:
        thread.start()
    wait_until(
        lambda: sum(stack.client.zcard(keys.in_flight(f"slow-{n}")) for n in range(4)) >= 40,
        timeout_s=30,
        what="40 sync waits",
    )
    loaded = loadgen.fixed_rate(stack.web.url, _post("/h/echo"), rate=rate, duration_s=seconds)
    waiting = sum(stack.client.zcard(keys.in_flight(f"slow-{n}")) for n in range(4))
    for thread in holders:
        thread.join(120)
    _quiet(stack)
    # Alone once more: the shared machine's slow spells fall on both sides.
    after = loadgen.fixed_rate(stack.web.url, _post("/h/echo"), rate=rate, duration_s=seconds)
    return {
        "rate": rate,
        "seconds": seconds,
        "alone": loadgen.merge([alone, after]).summary(),
        "with_40_sync_waits": loaded.summary(),
        "sync_waits_at_end": waiting,
        "sync_answers": {str(code): answers.count(code) for code in sorted(set(answers))},
    }


def _sync_under_backlog(stack: _Stack, quick: bool) -> dict[str, Any]:
    seconds, rate, backlog = (3 if quick else 6), 20, 3000
    stack.api.put_hook("sync", mode="sync", script=TRIVIAL, limits={"maxConcurrent": 100})
    stack.api.put_hook("busy", script=BUSY_10MS)
    loadgen.fixed_rate(stack.web.url, _post("/h/sync"), rate=20, duration_s=1)  # warm-up
    idle = loadgen.fixed_rate(stack.web.url, _post("/h/sync"), rate=rate, duration_s=seconds)
    _burst(stack.web.url, "/h/busy", backlog)
    queued_at_start = stack.client.llen(keys.pending("busy"))
    loaded = loadgen.fixed_rate(stack.web.url, _post("/h/sync"), rate=rate, duration_s=seconds)
    queued_at_end = stack.client.llen(keys.pending("busy"))
    _quiet(stack)
    return {
        "rate": rate,
        "seconds": seconds,
        "idle": idle.summary(),
        "with_backlog": loaded.summary(),
        "backlog_at_start": queued_at_start,
        "backlog_at_end": queued_at_end,
    }


def _start_delay(stack: _Stack, hook: str) -> float:
    """Seconds from sending one event of ``hook`` to its job's start."""
    job_id = stack.api.send(hook).json()["jobId"]
    job = wait_until(
        lambda: (j := stack.api.job(job_id))["startedAt"] and j, timeout_s=300, what="B to start"
    )
    started, created = (datetime.fromisoformat(job[k]) for k in ("startedAt", "createdAt"))
    return round((started - created).total_seconds(), 3)


def _fair_share(stack: _Stack) -> dict[str, Any]:
    stack.api.put_hook("hook-a", script=BUSY_10MS)
    stack.api.put_hook("hook-b", script=TRIVIAL)
    idle = [_start_delay(stack, "hook-b") for _ in range(5)]
    stack.stop_worker()  # queue A's 5,000 at once, then let the workers at them
    _burst(stack.web.url, "/h/hook-a", 5000)
    stack.start_worker()
    wait_until(lambda: stack.client.llen(keys.pending("hook-a")) < 4990, what="A to start")
    a_queued = stack.client.llen(keys.pending("hook-a"))
    delays = [_start_delay(stack, "hook-b") for _ in range(5)]
    a_left = stack.client.llen(keys.pending("hook-a"))
    _quiet(stack)
    return {
        "idle_start_delay_s": idle,
        "a_queued_when_b_sent": a_queued,
        "start_delay_s": delays,
        "a_queued_after_b_ran": a_left,
    }


def _concurrent_waits(stack: _Stack, target: int) -> dict[str, Any]:
    stack.api.put_hook(
        "held",
        mode="sync",
        script="({ body: 'held' })",
        limits={"waitMs": 60_000, "maxConcurrent": 10_000},
    )
    stack.stop_worker()  # nothing runs: every request keeps waiting
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    parsed = requests.utils.urlparse(stack.web.url)

    def wait_once() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        try:
            conn.request("POST", "/h/held", body=b"{}")
            response = conn.getresponse()
            outcome = (response.status, response.read().decode(errors="replace"))
        except (OSError, http.client.HTTPException) as exc:
            outcome = (0, type(exc).__name__)
        finally:
            conn.close()
        with lock:
            results.append(outcome)

    threading.stack_size(256 * 1024)
    threads = [threading.Thread(target=wait_once) for _ in range(target)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    held = 0
    try:
        held = wait_until(
            lambda: (n := stack.client.llen(keys.pending_sync("held"))) >= target and n,
            timeout_s=90,
            what=f"{target} sync waits",
        )
    except TimeoutError:
        held = stack.client.llen(keys.pending_sync("held"))
    held_after_s = round(time.perf_counter() - started, 1)
    echo = loadgen.fixed_rate(stack.web.url, _post("/h/echo"), rate=50, duration_s=2)
    stack.start_worker()
    worker_up = time.perf_counter()
    for thread in threads:
        thread.join(180)
    all_answered_s = round(time.perf_counter() - worker_up, 1)
    threading.stack_size(0)
    answered = sum(1 for status, body in results if (status, body) == (200, "held"))
    return {
        "target": target,
        "held_at_once": held,
        "all_waiting_after_s": held_after_s,
        "async_intake_meanwhile": echo.summary(),
        "answered_by_script": answered,
        "answered_within_s_of_worker_ready": all_answered_s,
        "fallback_202": sum(1 for status, _ in results if status == 202),
        "errors": sum(1 for status, _ in results if status not in (200, 202)),
    }


def isolation_scenario(quick: bool, table: Callable[[str, list], None] | None = None) -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        stack = _Stack(Path(tmp))
        try:
            intake = _intake_under_slow_sync(stack, quick)
            sync = _sync_under_backlog(stack, quick)
            fair = _fair_share(stack)
            waits = _concurrent_waits(stack, 2000)
        finally:
            stack.close()
    if table is not None:
        table(
            "async intake at 100 req/s, alone and while 40 slow sync requests wait",
            [("alone", intake["alone"]), ("40 sync waits", intake["with_40_sync_waits"])],
        )
        table(
            "trivial sync hook at 20 req/s, idle and with 3,000 async events queued",
            [("idle", sync["idle"]), ("3,000 queued", sync["with_backlog"])],
        )
    print(
        f"\nsync backlog: {sync['backlog_at_start']} queued at start, "
        f"{sync['backlog_at_end']} at end"
    )
    print(
        f"hook B start delay: idle {fair['idle_start_delay_s']} s; with A's "
        f"{fair['a_queued_when_b_sent']} queued: {fair['start_delay_s']} s "
        f"(A still had {fair['a_queued_after_b_ran']} queued)"
    )
    print(
        f"concurrent sync waits: {waits['held_at_once']} held at once (target 2000), "
        f"{waits['answered_by_script']} answered by the script, "
        f"{waits['fallback_202']} fell back to 202, {waits['errors']} errors; async intake "
        f"meanwhile p99 {waits['async_intake_meanwhile'].get('p99_ms')} ms"
    )
    return {
        "scenario": "isolation",
        "intake_under_sync_waits": intake,
        "sync_under_backlog": sync,
        "fair_share": fair,
        "concurrent_waits": waits,
    }
