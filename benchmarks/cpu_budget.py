"""CPU per async event for each process of a stack, from the processes' own
counters: psutil's CPU times of gunicorn's tree, the worker node's main
process and its children, and redis-server's ``INFO cpu``.

Two phases per round, each measured alone: the intake (the worker node
stopped with SIGSTOP, so only the web and Redis work) and the drain (the
node continued, taking the queued events). A process tree's CPU counts its
live processes and, through their parents' ``children_*`` times, the ones
that ended (a recycled worker child), so recycling is neither lost nor
counted twice.
"""

from __future__ import annotations

import os
import signal
import statistics
import time
from dataclasses import dataclass

import psutil
import redis

from benchmarks import loadgen
from benchmarks.drain import finished_any
from benchmarks.stack import Stack
from stackkit import wait_until

__all__ = ["ROLES", "measure_cpu", "print_cpu", "redis_cpu_s"]

# The stats buffers (web and children) write about once a second: a phase
# waits this long after its last event so their write counts in it.
FLUSH_WAIT_S = 1.5
ROLES = {
    "web": "gunicorn (master + workers)",
    "worker_main": "worker node, main process",
    "worker_children": "worker node, children",
    "redis": "redis-server",
}
LOADGEN = "load generator (this process)"


def _times(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def tree_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` alone and of it with every descendant, ended
    ones included, from one read of each process."""
    root = psutil.Process(pid)
    own = root.cpu_times()
    total = own.children_user + own.children_system
    for proc in root.children(recursive=True):
        try:
            total += _times(proc)
        except psutil.NoSuchProcess:
            pass  # ended between the listing and the read: its parent counts it next time
    return own.user + own.system, total + own.user + own.system


def own_cpu_s(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def redis_cpu_s(client: redis.Redis) -> float:
    """redis-server's own CPU seconds (every thread), as it reports them."""
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _commands(client: redis.Redis) -> dict[str, tuple[int, int]]:
    """Redis's calls and microseconds per command since it started."""
    return {
        name.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
        for name, v in client.info("commandstats").items()
    }


@dataclass
class _Sample:
    cpu: dict[str, float]
    commands: dict[str, tuple[int, int]]
    at: float


class _Meter:
    def __init__(self, stack: Stack) -> None:
        self.web_pid = stack.web.proc.pid
        self.worker_pid = stack.worker.proc.pid
        self.client = stack.redis.client()

    def sample(self) -> _Sample:
        main, node = tree_cpu_s(self.worker_pid)
        cpu = {
            "web": tree_cpu_s(self.web_pid)[1],
            "worker_main": main,
            "worker_children": node - main,
            "redis": redis_cpu_s(self.client),
            "loadgen": own_cpu_s(os.getpid()),
        }
        return _Sample(cpu, _commands(self.client), time.perf_counter())

    def signal_worker(self, sig: int) -> None:
        """SIGSTOP or SIGCONT every process of the worker node (never its
        process group: that is this benchmark's own)."""
        root = psutil.Process(self.worker_pid)
        for proc in [root, *root.children(recursive=True)]:
            proc.send_signal(sig)


def _phase(before: _Sample, after: _Sample, events: int) -> dict:
    us = {role: (after.cpu[role] - before.cpu[role]) / events * 1e6 for role in after.cpu}
    commands = {}
    for name, (calls, usec) in after.commands.items():
        calls0, usec0 = before.commands.get(name, (0, 0))
        if calls > calls0:
            commands[name] = {
                "calls_per_event": round((calls - calls0) / events, 2),
                "usec_per_event": round((usec - usec0) / events, 1),
            }
    return {
        "cpu_us_per_event": {k: round(v, 1) for k, v in us.items()},
        "seconds": round(after.at - before.at, 2),
        "redis_commands": dict(sorted(commands.items(), key=lambda kv: -kv[1]["usec_per_event"])),
    }


def _round(stack: Stack, meter: _Meter, hook: str, events: int) -> dict:
    client = stack.redis.client()
    ended = finished_any(client, hook)

    def make(_: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", f"/h/{hook}", b"{}", {"Content-Type": "application/json"}

    meter.signal_worker(signal.SIGSTOP)
    try:
        start = meter.sample()
        run = loadgen.fixed_rate(stack.web.url, make, 5000, events / 5000, 8)
        time.sleep(FLUSH_WAIT_S)
        queued = meter.sample()
    finally:
        meter.signal_worker(signal.SIGCONT)
    accepted = sum(1 for s in run.samples if s.status == 202)
    wait_until(
        lambda: finished_any(client, hook) - ended >= accepted,
        timeout_s=600,
        interval_s=0.05,
        what=f"{accepted} events drained",
    )
    time.sleep(FLUSH_WAIT_S)
    drained = meter.sample()
    if accepted != events:
        print(f"  (only {accepted} of {events} events were accepted: {run.summary()})")
    return {
        "events": accepted,
        "intake": _phase(start, queued, max(accepted, 1)),
        "drain": _phase(queued, drained, max(accepted, 1)),
    }


def _idle(meter: _Meter, seconds: float) -> dict[str, float]:
    """CPU ms per second of each process with no traffic (reapers, node
    reports, Redis's cron): what every phase includes besides its events."""
    before = meter.sample()
    time.sleep(seconds)
    after = meter.sample()
    elapsed = after.at - before.at
    return {role: round((after.cpu[role] - before.cpu[role]) / elapsed * 1e3, 2) for role in ROLES}


def measure_cpu(stack: Stack, hook: str, events: int, rounds: int, idle_s: float = 3.0) -> dict:
    """CPU µs per event of each process, intake and drain, median of ``rounds``."""
    meter = _Meter(stack)
    idle = _idle(meter, idle_s)
    runs = [_round(stack, meter, hook, events) for _ in range(rounds)]
    median: dict[str, dict[str, float]] = {}
    for phase in ("intake", "drain"):
        roles = runs[0][phase]["cpu_us_per_event"]
        median[phase] = {
            role: round(statistics.median(r[phase]["cpu_us_per_event"][role] for r in runs), 1)
            for role in roles
        }
    hooklet = {
        phase: round(sum(v for role, v in median[phase].items() if role in ROLES), 1)
        for phase in median
    }
    return {
        "events_per_round": events,
        "rounds": rounds,
        "cpu_us_per_event": median,  # median over the rounds, per phase and process
        "hooklet_us_per_event": {**hooklet, "total": round(sum(hooklet.values()), 1)},
        "redis_us_per_event": round(median["intake"]["redis"] + median["drain"]["redis"], 1),
        "idle_cpu_ms_per_s": idle,
        "flush_wait_s": FLUSH_WAIT_S,  # each phase ends this long after its last event
        "runs": runs,
    }


def print_cpu(result: dict) -> None:
    med = result["cpu_us_per_event"]
    print(
        f"\nCPU per async event, trivial script, µs ({result['events_per_round']} events, "
        f"median of {result['rounds']} round(s); intake with the worker stopped, then the drain)"
    )
    print(f"  {'process':<34}{'intake':>10}{'drain':>10}{'total':>10}")
    for role, label in [*ROLES.items(), ("loadgen", LOADGEN)]:
        intake, drain = med["intake"][role], med["drain"][role]
        print(f"  {label:<34}{intake:>10.1f}{drain:>10.1f}{intake + drain:>10.1f}")
    total = result["hooklet_us_per_event"]
    print(
        f"  {'hooklet (all but the load generator)':<34}"
        f"{total['intake']:>10.1f}{total['drain']:>10.1f}{total['total']:>10.1f}"
    )
    print(f"  Redis CPU per async event: {result['redis_us_per_event']:.1f} µs")
    idle = ", ".join(f"{ROLES[role]} {ms}" for role, ms in result["idle_cpu_ms_per_s"].items())
    print(
        f"  idle, CPU ms per second (in each phase too, which ends {FLUSH_WAIT_S} s after "
        f"its last event): {idle}"
    )
    print("  (EVALSHA's time includes the commands its Lua runs; they are listed too)")
    last = result["runs"][-1]
    for phase in ("intake", "drain"):
        top = list(last[phase]["redis_commands"].items())[:5]
        shown = ", ".join(
            f"{name} {v['usec_per_event']} µs ({v['calls_per_event']}/event)" for name, v in top
        )
        print(f"  Redis commands, {phase} (last round, time inside Redis): {shown}")
