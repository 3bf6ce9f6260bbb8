"""A small HTTP load generator for the benchmarks: open-loop at a fixed rate
(latency counted from when each request was due, so a stall is not hidden)
or closed-loop at saturation. Keep-alive connections, one per thread."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Sample:
    latency_ms: float
    status: int
    script_ms: float | None


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    elapsed_s: float = 0.0
    errors: int = 0

    def summary(self) -> dict[str, float]:
        lat = sorted(s.latency_ms for s in self.samples)
        outside = [s.latency_ms - s.script_ms for s in self.samples if s.script_ms is not None]
        if not lat:
            return {"requests": 0, "errors": self.errors}
        return {
            "requests": len(lat),
            "errors": self.errors,
            "non_2xx": sum(1 for s in self.samples if not 200 <= s.status < 300),
            "throughput_rps": round(len(lat) / self.elapsed_s, 1),
            "p50_ms": round(_pct(lat, 50), 2),
            "p95_ms": round(_pct(lat, 95), 2),
            "p99_ms": round(_pct(lat, 99), 2),
            "max_ms": round(lat[-1], 2),
            "outside_v8_p50_ms": round(statistics.median(outside), 2) if outside else None,
            "script_p50_ms": round(
                statistics.median(s.script_ms for s in self.samples if s.script_ms is not None), 3
            )
            if outside
            else None,
        }


def merge(runs: list[Run]) -> Run:
    """One run made of several (e.g. rounds alternated with a floor's)."""
    merged = Run()
    for run in runs:
        merged.samples += run.samples
        merged.elapsed_s += run.elapsed_s
        merged.errors += run.errors
    return merged


def _pct(sorted_values: list[float], pct: float) -> float:
    index = min(len(sorted_values) - 1, int(round(pct / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def _script_ms(response: http.client.HTTPResponse) -> float | None:
    timing = response.getheader("Server-Timing") or ""
    for part in timing.split(","):
        name, _, rest = part.strip().partition(";")
        if name == "script" and rest.startswith("dur="):
            return float(rest[4:])
    return None


class _Client:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]):
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
            return response
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            raise


RequestFactory = Callable[[int], tuple[str, str, bytes, dict[str, str]]]


def _send(
    client: _Client, make: RequestFactory, index: int, since: float, run: Run, lock: threading.Lock
) -> None:
    """One request; its latency counts from ``since`` (when it was due or sent)."""
    method, path, body, headers = make(index)
    try:
        response = client.request(method, path, body, headers)
    except (OSError, http.client.HTTPException):
        with lock:
            run.errors += 1
        return
    sample = Sample((time.perf_counter() - since) * 1000, response.status, _script_ms(response))
    with lock:
        run.samples.append(sample)


def _in_threads(work: Callable[[], None], count: int) -> None:
    pool = [threading.Thread(target=work) for _ in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def fixed_rate(
    base_url: str, make: RequestFactory, rate: float, duration_s: float, threads: int = 16
) -> Run:
    total = int(rate * duration_s)
    run = Run()
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.2

    def work() -> None:
        client = _Client(base_url)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            _send(client, make, index, due, run, lock)

    _in_threads(work, threads)
    run.elapsed_s = time.perf_counter() - start
    return run


def saturate(base_url: str, make: RequestFactory, connections: int, duration_s: float) -> Run:
    run = Run()
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration_s
    counter = iter(range(10**9))
    start = time.perf_counter()

    def work() -> None:
        client = _Client(base_url)
        while time.perf_counter() < stop_at:
            with lock:
                index = next(counter)
            _send(client, make, index, time.perf_counter(), run, lock)

    _in_threads(work, connections)
    run.elapsed_s = time.perf_counter() - start
    return run
