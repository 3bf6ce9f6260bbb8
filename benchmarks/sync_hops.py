"""Where a sync request's time goes, hop by hop, over sequential requests to
a trivial sync hook (one keep-alive connection, one request at a time).

The hops come from the job's own timestamps (the store's ``createdAt``,
``startedAt``, ``finishedAt`` and ``durationMs``, full precision from the
job's hash) and from this process's clock, the same clock on one machine:
the request sent and the answer received, and the moment a listener here
sees the sync-done publish (``keys.sync_done_channel()``) that wakes the web's
waiter. Where the job carries no timestamp the table says so.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from urllib.parse import urlsplit

import redis

from benchmarks.report import percentile
from workers.store import keys

__all__ = ["HOPS", "measure_hops", "print_hops"]

# (name, from → to, as measured)
HOPS = [
    ("accepted → enqueued", "request sent → createdAt (stamped just before CREATE)"),
    ("enqueued → taken", "createdAt → startedAt: CREATE, Celery's delivery, START"),
    (
        "taken → script start, script end → recorded",
        "startedAt → finishedAt less the script; not separable (no stamp at script start)",
    ),
    ("script start → script end", "the job's durationMs"),
    ("recorded → waiter woken", "finishedAt → the done publish seen by a listener here"),
    ("waiter woken → answered", "that publish → the answer received"),
    ("total", "request sent → answer received"),
]
_FIELDS = ("createdAt", "startedAt", "finishedAt", "durationMs")


class _DoneListener:
    """When each sync-lane job's end is published, as a subscriber sees it:
    the web's waiter listens on the same channel."""

    def __init__(self, client: redis.Redis) -> None:
        channel = getattr(keys, "sync_done_channel", None)
        self.seen: dict[str, float] = {}
        self._pubsub = client.pubsub(ignore_subscribe_messages=True) if channel else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        if self._pubsub is not None:
            answers = getattr(keys, "sync_answer_channel", None)  # the answer with it
            names = [channel(), *([answers()] if answers else [])]
            self._pubsub.subscribe(*names)
            for _ in names:
                self._pubsub.get_message(timeout=1.0)  # the subscription's confirmation
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                job_id = message["data"].partition(b"\n")[0]  # an answer follows its id
                self.seen[job_id.decode()] = time.time()

    def close(self) -> None:
        self._stop.set()
        if self._pubsub is not None:
            self._thread.join(5)
            self._pubsub.close()


def _send_all(url: str, path: str, requests: int) -> list[tuple[str | None, float, float, int]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    sent = []
    try:
        for _ in range(requests):
            started = time.time()
            conn.request("POST", path, body=b'{"n":1}', headers=headers)
            response = conn.getresponse()
            response.read()
            answered = time.time()
            sent.append((response.getheader("X-Hooklet-Job"), started, answered, response.status))
    finally:
        conn.close()
    return sent


def _hops(job: dict[str, float], sent_at: float, answered_at: float, woken: float | None) -> dict:
    ms = 1000.0
    script = job["durationMs"]
    run = (job["finishedAt"] - job["startedAt"]) * ms
    return {
        "accepted → enqueued": (job["createdAt"] - sent_at) * ms,
        "enqueued → taken": (job["startedAt"] - job["createdAt"]) * ms,
        "taken → script start, script end → recorded": run - script,
        "script start → script end": script,
        "recorded → waiter woken": None if woken is None else (woken - job["finishedAt"]) * ms,
        "waiter woken → answered": None if woken is None else (answered_at - woken) * ms,
        "total": (answered_at - sent_at) * ms,
    }


def measure_hops(url: str, client: redis.Redis, hook: str, requests: int) -> dict:
    """p50/p95/mean ms of each hop over ``requests`` sequential sync requests
    to ``hook`` (a sync hook with ``debugHeaders``, so answers name the job)."""
    listener = _DoneListener(client)
    try:
        sent = _send_all(url, f"/h/{hook}", requests)
        time.sleep(0.2)  # the last publish reaches the listener
    finally:
        listener.close()
    ok = [s for s in sent if s[0] and s[3] == 200]
    with client.pipeline(transaction=False) as pipe:
        for job_id, *_ in ok:
            pipe.hmget(keys.job(job_id), *_FIELDS)
        stored = pipe.execute()
    per_hop: dict[str, list[float]] = {name: [] for name, _ in HOPS}
    for (job_id, sent_at, answered_at, _), values in zip(ok, stored, strict=True):
        if None in values:
            continue  # expired or trimmed already
        job = dict(zip(_FIELDS, (float(v) for v in values), strict=True))
        hops = _hops(job, sent_at, answered_at, listener.seen.get(job_id))
        for name, value in hops.items():
            if value is not None:
                per_hop[name].append(value)
    return {
        "requests": requests,
        "answered_200": len(ok),
        "hops_ms": {
            name: (
                {
                    "p50": round(percentile(v, 50), 3),
                    "p95": round(percentile(v, 95), 3),
                    "mean": round(statistics.fmean(v), 3),
                    "samples": len(v),
                }
                if v
                else {"measured": False}
            )
            for name, v in per_hop.items()
        },
        "measured_as": dict(HOPS),
    }


def print_hops(result: dict) -> None:
    print(
        f"\nsync request, hop by hop ({result['answered_200']} of {result['requests']} "
        "sequential requests answered 200; trivial script), ms"
    )
    print(f"  {'hop':<46}{'p50':>9}{'p95':>9}{'mean':>9}   measured as")
    for name, how in HOPS:
        hop = result["hops_ms"][name]
        if "p50" not in hop:
            print(f"  {name:<46}{'-':>9}{'-':>9}{'-':>9}   not measured ({how})")
            continue
        print(f"  {name:<46}{hop['p50']:>9.3f}{hop['p95']:>9.3f}{hop['mean']:>9.3f}   {how}")
