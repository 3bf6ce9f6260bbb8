"""Soak: many events mixing good scripts with every hostile kind, through a
real stack (redis-server, one worker node with two children, gunicorn).

Every accepted event must reach a final state (lost = 0, stuck = 0), and the
worker children's memory must end near where it started. A second phase
(``soak_adversity.py``) adds short retentions, failing callbacks, surrogates
from senders and a readiness flood; ``--phases`` picks which run.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import soak_adversity  # noqa: E402
from bench import RESULTS, Stack  # noqa: E402

from workers.store import keys  # noqa: E402

GOOD = {
    "good-trivial": "(async () => ({ body: 'ok' }))();",
    "good-json": """(async () => {
  const order = JSON.parse(new TextDecoder().decode(new Uint8Array(context.body)));
  const total = order.items.reduce((sum, item) => sum + item.price * item.qty, 0);
  console.log("order", order.id, total);
  return { statusCode: 201, body: { id: order.id, total, count: order.items.length } };
})();""",
    "good-timer": "(async () => { await new Promise(r => setTimeout(r, 5)); return {}; })()",
}
HOSTILE = {
    "loop": "while (true) {}",
    "loop-after-await": "(async () => { await null; for (;;) {} })()",
    "loop-in-callback": "Promise.resolve().then(() => { for (;;) {} }); 1",
    "timer-chain": "(function tick() { setTimeout(tick, 0); })(); new Promise(() => {})",
    "heap-array": "const a = []; while (true) a.push({ n: a.length });",
    "string-doubling": "let s = 'ab'; while (true) { s = s + s; s.charCodeAt(s.length - 1); }",
    "typed-array": "const k = []; for (;;) k.push(new Uint8Array(32 << 20).fill(1));",
    "wasm": """const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
for (;;) { m.grow(512); const b = new Uint8Array(m.buffer); b.fill(1, b.length - 512 * 65536); }""",
    "recursion": "function f(n) { return f(n + 1) + 1; } f(0)",
    "atomics-wait": "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)",
    "tamper": "JSON.parse = () => 1; Object.prototype.x = 1; console.log = null; ({ body: 't' })",
    "console-flood": "for (let i = 0; i < 1e5; i++) console.log('spam', i); null",
    "big-output": "({ body: 'x'.repeat(2 * 1024 * 1024) })",
    "host": "require('fs')",
    "throw": "throw new Error('boom')",
}
FINAL = {b"succeeded", b"failed"}


def children_rss_mb(stack: Stack) -> list[float]:
    return [round(c.memory_info().rss / 2**20, 1) for c in stack.worker.children()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--hostile", type=float, default=0.05, help="share of hostile events")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--phases", default="mixed,adversity", help="mixed, adversity or both")
    parser.add_argument("--adversity-events", type=int, default=600)
    parser.add_argument("--flood-clients", type=int, default=50, help="concurrent /readyz callers")
    args = parser.parse_args()
    phases = {phase.strip() for phase in args.phases.split(",")}
    reports: dict[str, dict] = {}
    if "mixed" in phases:
        reports["mixed"] = mixed_phase(args)
    if "adversity" in phases:
        with tempfile.TemporaryDirectory() as tmp:
            reports["adversity"] = soak_adversity.run(
                Path(tmp), args.adversity_events, args.senders, args.flood_clients, seed=42
            )
        soak_adversity.print_report(reports["adversity"])
    ok = bool(reports) and all(report["ok"] for report in reports.values())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps({**reports, "ok": ok}, indent=2))
    print(f"\nwrote {(RESULTS / 'soak.json').relative_to(ROOT)}")
    sys.exit(0 if ok else 1)


def mixed_phase(args: argparse.Namespace) -> dict:
    """Good and hostile scripts, ``args.events`` of them; returns the report."""
    rng = random.Random(42)

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), child_rss_mb=300)
        try:
            for hook_id, script in GOOD.items():
                stack.api.put_hook(hook_id, script=script)
            for kind, script in HOSTILE.items():
                stack.api.put_hook(
                    f"bad-{kind}", script=script, limits={"timeoutMs": 300, "heapMb": 16}
                )
            body = json.dumps({"id": "o-1", "items": [{"price": 2.5, "qty": i} for i in range(50)]})
            plan = [
                f"bad-{rng.choice(list(HOSTILE))}"
                if rng.random() < args.hostile
                else rng.choice(list(GOOD))
                for _ in range(args.events)
            ]
            # Warm up so each child's baseline is a working child's memory.
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda h: stack.api.run(h, data=body), list(GOOD) * 20))
            rss_start = children_rss_mb(stack)

            accepted: list[str] = []
            refused: collections.Counter[int] = collections.Counter()
            started = time.perf_counter()

            def send(chunk: list[str]) -> tuple[list[str], collections.Counter[int]]:
                session, ids, bad = requests.Session(), [], collections.Counter()
                for hook_id in chunk:
                    response = session.post(f"{stack.web.url}/h/{hook_id}", data=body, timeout=30)
                    if response.status_code == 202:
                        ids.append(response.json()["jobId"])
                    else:
                        bad[response.status_code] += 1
                return ids, bad

            chunks = [plan[i :: args.senders] for i in range(args.senders)]
            with concurrent.futures.ThreadPoolExecutor(args.senders) as pool:
                for ids, bad in pool.map(send, chunks):
                    accepted.extend(ids)
                    refused.update(bad)
            sent_s = time.perf_counter() - started

            client = redis.Redis.from_url(stack.redis.url)
            pending = set(accepted)
            outcomes: collections.Counter[str] = collections.Counter()
            last_progress = time.monotonic()
            while pending and time.monotonic() - last_progress < 120:
                ids = list(pending)
                with client.pipeline(transaction=False) as pipe:
                    for job_id in ids:
                        pipe.hmget(keys.job(job_id), "status", "reason")
                    states = pipe.execute()
                for job_id, (status, reason) in zip(ids, states, strict=True):
                    if status in FINAL:
                        pending.discard(job_id)
                        outcomes[(reason or status).decode()] += 1
                        last_progress = time.monotonic()
                if pending:
                    time.sleep(1)
            elapsed_s = time.perf_counter() - started
            rss_end = children_rss_mb(stack)
            worker_alive = stack.worker.proc.poll() is None
        finally:
            stack.close()

    reached = sum(outcomes.values())
    growth = max((e - s for s, e in zip(rss_start, rss_end, strict=False)), default=0.0)
    report = {
        "events_sent": args.events,
        "accepted": len(accepted),
        "refused_by_status": dict(refused),
        "reached_final_state": reached,
        "lost_or_stuck": len(accepted) - reached,
        "outcomes": dict(sorted(outcomes.items())),
        "child_rss_mb_start": rss_start,
        "child_rss_mb_end": rss_end,
        "child_rss_growth_mb": round(growth, 1),
        "worker_node_alive": worker_alive,
        "send_seconds": round(sent_s, 1),
        "total_seconds": round(elapsed_s, 1),
        "throughput_events_per_s": round(reached / elapsed_s, 1),
        "ok": len(accepted) - reached == 0 and growth <= 50,
    }
    print(f"\nsoak: {args.events} events, {args.hostile:.0%} hostile")
    for key, value in report.items():
        print(f"  {key:<26} {value}")
    return report


if __name__ == "__main__":
    main()
