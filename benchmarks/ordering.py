"""``scripts/bench ordering``: what per-key ordering costs and whether it holds
(issue 24).

1. Throughput: 20,000 events over 1,000 keys (the sub-path is the key) to a
   hook with ``ordering`` and to the same hook without; the ratio of their
   events/s, from the first request until the last job ended (target ≥ 0.9).
   The two alternate in rounds (half the events each), so a machine whose
   load changes during the run weighs on both alike. Beside it, the same
   ratio for a backlog: a quarter of the events queued while the worker
   node is paused (SIGSTOP), timed from its resume until the last job ended
   (the workers' side alone: the intake's cost is out of it).
2. Concurrency: events over 10 keys with a 20 ms script; the most runs
   observed at once (target: about 10, or the number of children if fewer).
3. Order violations in every ordered run, counted from each run's own start
   and end (the script's clock, in its result): a key's event that started
   before the one accepted before it had ended. Target 0, including
4. a run during which a worker child is SIGKILLed every 2 s.

A key's events are sent in sequence by one sender thread (8 threads), so
the order the intake accepted them is known. ``--events``, ``--keys`` and
``--children`` shrink or grow the runs (``--quick``: 2,000 over 100).
"""

from __future__ import annotations

import http.client
import math
import os
import random
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psutil
import redis

from benchmarks.drain import finished_any
from stackkit import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys
from workers.store.jobs.records import result_body

__all__ = ["ordering_scenario"]

THREADS = 8
KILL_EVERY_S = 2.0
ROUNDS = 2  # plain and ordered alternate, each sent events / ROUNDS at a time


def _script(sleep_ms: int) -> str:
    wait = f"await new Promise(r => setTimeout(r, {sleep_ms}));" if sleep_ms else ""
    return (
        "(async () => { const t0 = Date.now(); "
        + wait
        + " return { body: { t0, t1: Date.now() } }; })()"
    )


def _hook(api: Api, hook: str, sleep_ms: int, ordered: bool) -> None:
    definition: dict[str, Any] = {"script": _script(sleep_ms), "limits": {"maxQueued": 1_000_000}}
    if ordered:
        definition["ordering"] = {"key": "path"}
    api.put_hook(hook, **definition)


def _send(base_url: str, hook: str, events: int, key_count: int) -> dict[int, list[str]]:
    """Event i goes to key i % key_count; a key's events from one thread, in
    sequence. Returns each key's job ids in the order they were accepted."""
    parts = urlsplit(base_url)
    sent: dict[int, list[str]] = {k: [] for k in range(key_count)}

    def work(thread: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        for i in range(events):
            key = i % key_count
            if key % THREADS != thread:
                continue
            conn.request("POST", f"/h/{hook}/k{key}", body=b"{}",
                         headers={"Content-Type": "application/json"})  # fmt: skip
            response = conn.getresponse()
            body = response.read()
            assert response.status == 202, (response.status, body[:200])
            sent[key].append(orjson.loads(body)["jobId"])

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent


def _run(
    stack: dict[str, Any], hook: str, events: int, key_count: int, backlog: bool = False
) -> tuple[float, dict]:
    """Send and wait for every job to end: (seconds, each key's job ids).
    With ``backlog``, sent to a paused worker node, timed from its resume."""
    client = stack["redis"]
    before = finished_any(client, hook)
    if backlog:
        _signal_worker(stack["worker"], signal.SIGSTOP)
    started = time.perf_counter()
    try:
        sent = _send(stack["url"], hook, events, key_count)
    finally:
        if backlog:
            started = _signal_worker(stack["worker"], signal.SIGCONT)
    wait_until(lambda: finished_any(client, hook) - before >= events, timeout_s=1800,
               interval_s=0.05, what=f"{events} events of {hook}")  # fmt: skip
    return time.perf_counter() - started, sent


def _signal_worker(worker: Worker, signum: int) -> float:
    node = psutil.Process(worker.proc.pid)  # type: ignore[union-attr]
    for process in [node, *node.children()]:
        process.send_signal(signum)
    return time.perf_counter()


def _alternated(
    stack: dict[str, Any], events: int, key_count: int, backlog: bool = False
) -> tuple[float, float, dict, dict]:
    """``plain`` and ``ordered`` in turn, ROUNDS times: (their events/s,
    then each one's key's job ids in accepted order)."""
    seconds = {"plain": 0.0, "ordered": 0.0}
    sent: dict[str, dict[int, list[str]]] = {"plain": {}, "ordered": {}}
    for _ in range(ROUNDS):
        for hook in ("plain", "ordered"):
            took, round_sent = _run(stack, hook, events // ROUNDS, key_count, backlog)
            seconds[hook] += took
            for key, job_ids in round_sent.items():
                sent[hook].setdefault(key, []).extend(job_ids)
    done = events // ROUNDS * ROUNDS
    return done / seconds["plain"], done / seconds["ordered"], sent["plain"], sent["ordered"]


def _times(client: redis.Redis, sent: dict[int, list[str]]) -> dict[str, dict[str, Any]]:
    """Each job's run: its script's t0/t1 (ms), or, failed, its finish (ms)."""
    ids = [job_id for job_ids in sent.values() for job_id in job_ids]
    runs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        with client.pipeline(transaction=False) as pipe:
            for job_id in chunk:
                pipe.hgetall(keys.job(job_id))
            for job_id, raw in zip(chunk, pipe.execute(), strict=True):
                status = raw.get(b"status", b"").decode()
                run: dict[str, Any] = {"status": status, "attempts": int(raw.get(b"attempts", 0))}
                if status == "succeeded":
                    run.update(orjson.loads(result_body(raw)))
                else:
                    run["t1"] = math.floor(float(raw.get(b"finishedAt", 0)) * 1000)
                runs[job_id] = run
    return runs


def _violations(sent: dict[int, list[str]], runs: dict[str, dict[str, Any]]) -> int:
    """A key's events that started before the one accepted before them ended."""
    count = 0
    for job_ids in sent.values():
        for before, after in zip(job_ids, job_ids[1:], strict=False):
            if "t0" in runs[after] and runs[after]["t0"] < runs[before]["t1"]:
                count += 1
    return count


def _most_at_once(runs: dict[str, dict[str, Any]]) -> int:
    edges = sorted(
        [(r["t0"], 1) for r in runs.values() if "t0" in r]
        + [(r["t1"], -1) for r in runs.values() if "t0" in r]
    )  # an end at the same ms as a start is counted first: not at once
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _killer(worker: Worker, stop: threading.Event, kills: list[int]) -> None:
    while not stop.wait(KILL_EVERY_S):
        children = psutil.Process(worker.proc.pid).children()  # type: ignore[union-attr]
        if children:
            victim = random.choice(children)
            try:
                os.kill(victim.pid, signal.SIGKILL)
                kills.append(victim.pid)
            except ProcessLookupError:
                pass


def _start(workdir: Path, children: int) -> tuple[dict[str, Any], list]:
    server = RedisServer(workdir).start()
    started: list = [server]
    env = hooklet_env(server.url, max_memory_per_child_mb=1024)
    worker = Worker(env, workdir, concurrency=children).start()
    started.append(worker)
    web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir).start()
    started.append(web)
    stack = {"redis": server.client(), "url": web.url, "api": Api(web.url), "worker": worker}
    return stack, started


def ordering_scenario(
    quick: bool, events: int | None = None, key_count: int | None = None, children: int = 2
) -> dict:
    events = events or (2000 if quick else 20_000)
    key_count = key_count or (100 if quick else 1000)
    slow_events = max(300, events // 10)
    with tempfile.TemporaryDirectory() as tmp:
        stack, started = _start(Path(tmp), children)
        try:
            api, client = stack["api"], stack["redis"]
            for hook, sleep_ms, ordered in (("plain", 0, False), ("ordered", 0, True),
                                            ("slow", 20, True), ("killed", 20, True)):  # fmt: skip
                _hook(api, hook, sleep_ms, ordered)
            _run(stack, "plain", min(events, 500), key_count)  # warm-up
            _run(stack, "ordered", min(events, 500), key_count)
            plain_rate, ordered_rate, plain_sent, ordered_sent = _alternated(
                stack, events, key_count
            )
            backlog = _alternated(stack, events // 4, key_count, backlog=True)
            _, slow_sent = _run(stack, "slow", slow_events, 10)
            stop, kills = threading.Event(), []
            killer = threading.Thread(target=_killer, args=(stack["worker"], stop, kills))
            killer.start()
            try:
                _, killed_sent = _run(stack, "killed", slow_events, 10)
            finally:
                stop.set()
                killer.join()
            plain_runs, ordered_runs = _times(client, plain_sent), _times(client, ordered_sent)
            backlog_runs = _times(client, backlog[3])
            slow_runs, killed_runs = _times(client, slow_sent), _times(client, killed_sent)
        finally:
            for process in reversed(started):
                process.stop()
    result = {
        "scenario": "ordering",
        "children": children,
        "throughput": {
            "events": events,
            "keys": key_count,
            "unordered_events_per_s": round(plain_rate, 1),
            "ordered_events_per_s": round(ordered_rate, 1),
            "ratio": round(ordered_rate / plain_rate, 3),
            "target_ratio": 0.9,
            "order_violations": _violations(ordered_sent, ordered_runs),
            "unordered_overlaps": _violations(plain_sent, plain_runs),
        },
        "backlog": {
            "events": events // 4 // ROUNDS * ROUNDS,
            "keys": key_count,
            "unordered_events_per_s": round(backlog[0], 1),
            "ordered_events_per_s": round(backlog[1], 1),
            "ratio": round(backlog[1] / backlog[0], 3),
            "order_violations": _violations(backlog[3], backlog_runs),
        },
        "ten_keys_20ms": {
            "events": slow_events,
            "most_running_at_once": _most_at_once(slow_runs),
            "target": min(10, children),
            "order_violations": _violations(slow_sent, slow_runs),
        },
        "child_killed_every_2s": {
            "events": slow_events,
            "kills": len(kills),
            "events_rerun": sum(1 for r in killed_runs.values() if r["attempts"] > 1),
            "events_failed": sum(1 for r in killed_runs.values() if r["status"] != "succeeded"),
            "order_violations": _violations(killed_sent, killed_runs),
        },
    }
    _print(result)
    return result


def _print(result: dict) -> None:
    t, s, k = result["throughput"], result["ten_keys_20ms"], result["child_killed_every_2s"]
    b = result["backlog"]
    rows = [
        (f"unordered, {t['events']} events / {t['keys']} keys (ev/s)",
         f"{t['unordered_events_per_s']}"),
        ("ordered, same (ev/s)", f"{t['ordered_events_per_s']}"),
        ("ratio (target >= 0.9)", f"{t['ratio']:.3f}"),
        ("order violations, ordered / unordered overlaps",
         f"{t['order_violations']} / {t['unordered_overlaps']}"),
        (f"backlog of {b['events']} (paused worker): unordered / ordered ev/s",
         f"{b['unordered_events_per_s']} / {b['ordered_events_per_s']}"),
        ("backlog: ratio / order violations", f"{b['ratio']:.3f} / {b['order_violations']}"),
        (f"10 keys, 20 ms: most at once (target {s['target']})", f"{s['most_running_at_once']}"),
        ("10 keys, 20 ms: order violations", f"{s['order_violations']}"),
        ("child SIGKILLed every 2 s: kills / reruns / failed",
         f"{k['kills']} / {k['events_rerun']} / {k['events_failed']}"),
        ("child SIGKILLed every 2 s: order violations", f"{k['order_violations']}"),
    ]  # fmt: skip
    print(f"\nordering ({result['children']} worker children)")
    for label, value in rows:
        print(f"  {label:<52} {value:>12}")
