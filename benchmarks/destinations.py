"""``scripts/bench destinations``: what a dead callback destination costs.

A hook whose callback destination is dead (a loopback port nobody listens
on) gets 5,000 events; its breaker opens after HOOKLET_BREAKER_FAILURES and
parks the rest. Then, with the breaker open: the callback worker's CPU
(seconds per wall second, its share of one core) idle, against the same
worker idle before any of it; and a healthy destination's callback latency
(job finished → receiver got it) at 10 events/s, alone and beside the
5,000 parked deliveries. Issue 24's targets: ≤ 1% of the callback workers'
time, and the healthy latency unchanged.
"""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import psutil
import redis

from benchmarks.report import percentile
from stackkit import Api, RedisServer, Web, Worker, free_port, hooklet_env, wait_until
from workers.queue.names import CALLBACKS_QUEUE
from workers.store import keys

__all__ = ["destinations_scenario"]

DEAD_EVENTS = 5000
RATE_PER_S = 10.0


class _Receiver:
    """A loopback receiver that notes when each job's callback arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, float]] = []  # (received, job finished)
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                finished = datetime.fromisoformat(orjson.loads(body)["finishedAt"]).timestamp()
                arrivals.append((now, finished))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cpu_s(worker: Worker) -> float:
    process = psutil.Process(worker.proc.pid)  # type: ignore[union-attr]
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        times = each.cpu_times()
        total += times.user + times.system
    return total


def _share(worker: Worker, seconds: float) -> float:
    """The worker's CPU seconds per wall second over ``seconds`` of idling."""
    start_cpu, start = _cpu_s(worker), time.monotonic()
    time.sleep(seconds)
    return (_cpu_s(worker) - start_cpu) / (time.monotonic() - start)


def _healthy(api: Api, hook: str, receiver: _Receiver, worker: Worker, seconds: float) -> dict:
    """Events at RATE_PER_S for ``seconds``; the callbacks' latency and the
    worker's CPU share meanwhile."""
    first = len(receiver.arrivals)
    start_cpu, start = _cpu_s(worker), time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        assert api.send(hook, json={"n": sent}).status_code == 202
        sent += 1
        time.sleep(max(0.0, start + sent / RATE_PER_S - time.monotonic()))
    wait_until(lambda: len(receiver.arrivals) - first >= sent, timeout_s=60, what="callbacks")
    share = (_cpu_s(worker) - start_cpu) / (time.monotonic() - start)
    latency = [(got - done) * 1000 for got, done in receiver.arrivals[first:]]
    return {
        "callbacks": len(latency),
        "p50_ms": round(percentile(latency, 50), 1),
        "p95_ms": round(percentile(latency, 95), 1),
        "max_ms": round(max(latency), 1),
        "worker_cpu_share": round(share, 4),
    }


def _flood(api: Api, hook: str, n: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: api.send(hook, json={"n": i}).status_code, range(n)))
    assert codes.count(202) == n, {c: codes.count(c) for c in set(codes)}


def _destination(api: Api, port: int) -> dict:
    answer = api.http.get(f"{api.base}/api/destinations", headers=api.admin, timeout=10).json()
    found = [d for d in answer["destinations"] if d["destination"].endswith(f":{port}")]
    return found[0] if found else {}


def destinations_scenario(quick: bool) -> dict:
    idle_s, busy_s = (15.0, 20.0) if quick else (60.0, 60.0)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir).start()
        env = hooklet_env(server.url)  # the breaker's defaults: 20 failures, 30 s doubling
        started: list = [server]
        receiver = _Receiver()
        try:
            web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir).start()
            started.append(web)
            started.append(Worker(env, workdir, concurrency=2).start())
            callbacks = Worker(
                env, workdir, name="callbacks", queues="callbacks", pool="threads", concurrency=4
            ).start()
            started.append(callbacks)
            api = Api(web.url)
            dead_port = free_port()
            api.put_hook("healthy", script="({ body: 'ok' })", callbackUrl=receiver.url)
            api.put_hook(
                "dead", script="({ body: 'ok' })", callbackUrl=f"http://127.0.0.1:{dead_port}/cb"
            )
            _healthy(api, "healthy", receiver, callbacks, 3)  # warm-up
            idle = _share(callbacks, idle_s)
            alone = _healthy(api, "healthy", receiver, callbacks, busy_s)

            began = time.monotonic()
            _flood(api, "dead", DEAD_EVENTS)
            client = redis.Redis.from_url(server.url)
            wait_until(
                lambda: (
                    _destination(api, dead_port).get("queued", 0) >= DEAD_EVENTS - 100
                    and client.llen(keys.celery_queue(CALLBACKS_QUEUE)) == 0
                ),
                timeout_s=600,
                interval_s=0.5,
                what="the dead destination's deliveries parked",
            )
            parked_after_s = time.monotonic() - began
            open_idle = _share(callbacks, idle_s)
            beside = _healthy(api, "healthy", receiver, callbacks, busy_s)
            dead = _destination(api, dead_port)
        finally:
            receiver.close()
            for process in reversed(started):
                process.stop()
    cost = open_idle - idle
    _print(parked_after_s, idle, open_idle, cost, alone, beside, dead)
    return {
        "scenario": "destinations",
        "dead_deliveries": DEAD_EVENTS,
        "parked_within_s": round(parked_after_s, 1),
        "worker_cpu_share_idle": round(idle, 4),
        "worker_cpu_share_breaker_open": round(open_idle, 4),
        "dead_destination_cost_share": round(cost, 4),
        "target_cost_share": 0.01,
        "healthy_alone": alone,
        "healthy_beside_open_breaker": beside,
        "dead_destination": dead,
    }


def _print(
    parked_s: float, idle: float, open_idle: float, cost: float, alone: dict, beside: dict,
    dead: dict,
) -> None:  # fmt: skip
    rows = [
        ("parked within (s)", f"{parked_s:.1f}"),
        ("callback worker CPU share, idle", f"{idle:.2%}"),
        ("... breaker open, 5,000 parked", f"{open_idle:.2%}"),
        ("dead destination's cost (target <= 1%)", f"{cost:.2%}"),
        ("healthy alone p50 / p95 (ms)", f"{alone['p50_ms']} / {alone['p95_ms']}"),
        ("healthy beside it p50 / p95 (ms)", f"{beside['p50_ms']} / {beside['p95_ms']}"),
        ("healthy worker CPU share alone / beside",
         f"{alone['worker_cpu_share']:.2%} / {beside['worker_cpu_share']:.2%}"),
        ("dead destination at the end",
         f"{dead.get('state')}, streak {dead.get('failureStreak')}, "
         f"queued {dead.get('queued')}, opened {dead.get('timesOpened')}x"),
    ]  # fmt: skip
    print(f"\ndestinations: a dead destination with {DEAD_EVENTS} deliveries, breaker open")
    for label, value in rows:
        print(f"  {label:<42} {value:>24}")
