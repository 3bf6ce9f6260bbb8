"""The soak's adversity phase: short retentions under a backlog, callbacks
that keep failing past their job's retention, lone UTF-16 surrogates (and
invalid UTF-8) from senders, and a flood of readiness probes, all at once,
through its own real stack (redis-server, a script node with two children, a
callback node, gunicorn).

It holds when every event the intake accepted ends (lost 0: none vanished,
none stuck), no run crashed or ran twice, no job record outlives its
retention (none without a TTL, none recreated empty by a late write), and
the intake answered every request while ``/readyz`` was flooded.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import redis
import requests
from bench import Stack

from stackkit.services import Worker
from tests.support.receiver import Receiver, Reply
from workers.queue.names import CALLBACKS_QUEUE
from workers.store import keys

RETENTION_S = 60  # the shortest a hook may ask for
# A backlog longer than the retention: 2 children, 400 ms each.
SLOW = "(async () => { await new Promise(r => setTimeout(r, 400)); return { body: 'ok' }; })()"
TRIVIAL = "(async () => ({ body: 'ok' }))()"
# The sender's string through every channel: logs, errors, KV keys, results.
ECHO = """(async () => {
  const sender = String(JSON.parse(new TextDecoder().decode(new Uint8Array(context.body))).sender);
  console.log("from", sender);
  const how = context.query.how;
  if (how === "throw") throw new Error("refused " + sender);
  if (how === "kv") await secutils.kv.set("k" + sender, sender);
  if (how === "header") return { headers: { "x-sender": sender }, body: "ok" };
  return { body: { sender } };
})()"""
BODIES = [b'{"sender": "\\ud800"}', b'{"sender": "a\\udfffb"}', b'{"sender": "\xff\xfe"}']
HOWS = ["log", "throw", "kv", "header", "result"]
FINAL = {b"succeeded", b"failed"}


def _hooks(stack: Stack, callback_url: str) -> None:
    short = {"retentionS": RETENTION_S}
    stack.api.put_hook("adv-retained", script=SLOW, **short)
    stack.api.put_hook("adv-callback", script=TRIVIAL, callbackUrl=callback_url, **short)
    stack.api.put_hook("adv-surrogate", script=ECHO, **short)


def _plan(events: int, rng: random.Random) -> list[tuple[str, str, bytes]]:
    """(hook, query, body) per event: half the backlog, a quarter each of
    failing callbacks and surrogates."""
    plan = []
    for i in range(events):
        if i % 4 < 2:
            plan.append(("adv-retained", "", b"{}"))
        elif i % 4 == 2:
            plan.append(("adv-callback", "", b"{}"))
        else:
            plan.append(("adv-surrogate", f"?how={rng.choice(HOWS)}", rng.choice(BODIES)))
    rng.shuffle(plan)
    return plan


class _Flood:
    """``clients`` threads calling ``/readyz`` back to back until stopped."""

    def __init__(self, url: str, clients: int) -> None:
        self.url, self.stop = url, threading.Event()
        self.statuses: collections.Counter[str] = collections.Counter()
        self.slowest_s = 0.0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._probe) for _ in range(clients)]

    def _probe(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                status = str(session.get(self.url, timeout=10).status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            with self._lock:
                self.statuses[status] += 1
                self.slowest_s = max(self.slowest_s, time.perf_counter() - started)

    def __enter__(self) -> _Flood:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(15)


def _send(url: str, chunk: list[tuple[str, str, bytes]]) -> tuple[list[str], collections.Counter]:
    session, ids, other = requests.Session(), [], collections.Counter()
    for hook_id, query, body in chunk:
        try:
            response = session.post(f"{url}/h/{hook_id}{query}", data=body, timeout=30)
        except requests.RequestException as exc:
            other[type(exc).__name__] += 1
            continue
        if response.status_code == 202:
            ids.append(response.json()["jobId"])
        else:
            other[str(response.status_code)] += 1
    return ids, other


def _await_end(client: redis.Redis, accepted: list[str], idle_s: float) -> dict[str, Any]:
    """Watch every accepted job until it ends: a job whose record is gone
    before it was seen ending has vanished (lost)."""
    pending, ended = set(accepted), {}
    vanished: set[str] = set()
    last_progress = time.monotonic()
    while pending and time.monotonic() - last_progress < idle_s:
        ids = list(pending)
        with client.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(keys.job(job_id), "status", "reason", "attempts")
            states = pipe.execute()
        for job_id, (status, reason, attempts) in zip(ids, states, strict=True):
            if status is None:
                vanished.add(job_id)
            if status in FINAL or status is None:
                pending.discard(job_id)
                ended[job_id] = ((reason or status or b"vanished").decode(), int(attempts or 0))
                last_progress = time.monotonic()
        if pending:
            time.sleep(1)
    outcomes = collections.Counter(reason for reason, _ in ended.values())
    return {
        "vanished": len(vanished),
        "stuck": len(pending),
        "outcomes": dict(sorted(outcomes.items())),
        "ran_more_than_once": sum(1 for _, attempts in ended.values() if attempts > 1),
    }


def _await_deliveries(client: redis.Redis, timeout_s: float) -> bool:
    """Until no callback is due or queued (every retry spent)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        queued = client.llen(keys.celery_queue(CALLBACKS_QUEUE))
        if not client.zcard(keys.callbacks_due()) and not queued:
            return True
        time.sleep(1)
    return False


def _records(client: redis.Redis) -> dict[str, int]:
    """Job records that would live forever: no TTL, or a hash with no hook
    (recreated by a write after the job expired)."""
    immortal = ghosts = 0
    for key in client.scan_iter(match=keys.job("*"), count=500):
        if client.type(key) != b"hash":
            continue
        immortal += client.ttl(key) == -1
        ghosts += not client.hexists(key, "hookId")
    return {"records_without_ttl": immortal, "records_without_hook": ghosts}


def run(workdir: Path, events: int, senders: int, flood_clients: int, seed: int) -> dict:
    """Run the phase; returns its report (``ok`` says whether it held)."""
    receiver = Receiver()
    receiver.default = Reply(status=500)  # every attempt fails: retries run out
    # Retries that outlive the job's retention (the last one past it).
    stack = Stack(workdir, child_rss_mb=300, callback_schedule_s=f"1,20,{RETENTION_S + 10}")
    callbacks = Worker(
        stack.worker.env,
        workdir,
        name="callbacks",
        queues="callbacks",
        concurrency=4,
        pool="threads",
    )
    try:
        callbacks.start()
        _hooks(stack, receiver.url)
        plan = _plan(events, random.Random(seed))
        chunks = [plan[i::senders] for i in range(senders)]
        accepted: list[str] = []
        refused: collections.Counter[str] = collections.Counter()
        started = time.perf_counter()
        with _Flood(f"{stack.web.url}/readyz", flood_clients) as flood:
            with concurrent.futures.ThreadPoolExecutor(senders) as pool:
                for ids, other in pool.map(lambda c: _send(stack.web.url, c), chunks):
                    accepted.extend(ids)
                    refused.update(other)
            time.sleep(3)  # the flood goes on a little after the intake's burst
        client = redis.Redis.from_url(stack.redis.url)
        ended = _await_end(client, accepted, idle_s=120)
        delivered = _await_deliveries(client, timeout_s=RETENTION_S * 3)
        time.sleep(2)  # a late write after the last retry would show now
        records = _records(client)
        alive = stack.worker.proc.poll() is None and callbacks.proc.poll() is None
    finally:
        callbacks.stop()
        stack.close()
        receiver.close()
    lost = ended["vanished"] + ended["stuck"]
    intake_failures = sum(n for k, n in refused.items() if not k.isdigit())
    report = {
        "events_sent": events,
        "accepted": len(accepted),
        "refused_by_status": dict(refused),
        **ended,
        "lost": lost,
        "callbacks_received": len(receiver.received),
        "deliveries_settled": delivered,
        **records,
        "readyz_answers": dict(flood.statuses),
        "readyz_slowest_s": round(flood.slowest_s, 2),
        "nodes_alive": alive,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    report["ok"] = (
        lost == 0
        and intake_failures == 0
        and ended["outcomes"].get("crashed", 0) == 0
        and ended["ran_more_than_once"] == 0
        and records["records_without_ttl"] == 0
        and records["records_without_hook"] == 0
        and delivered
        and alive
    )
    return report


def print_report(report: dict) -> None:
    print(f"\nsoak, adversity phase: {report['events_sent']} events")
    for key, value in report.items():
        print(f"  {key:<26} {json.dumps(value) if isinstance(value, dict) else value}")
