"""``scripts/bench async --ha``: async events/s on one Redis against a
Sentinel-fronted primary + replica with ``WAIT 1``, in the same run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.drain import finished_any, timed_drain
from benchmarks.hooks import SUMMARY, TRIVIAL
from stackkit import Api, RedisServer, Web, Worker, hooklet_env
from stackkit.payloads import github_push
from stackkit.sentinel import MASTER, SentinelCluster

__all__ = ["async_ha"]


def _ha_drains(env: dict[str, str], workdir: Path, client, events: int) -> dict:  # noqa: ANN001
    """Events/s of the trivial and the 3.7 KB push hook on one stack."""
    worker = Worker(env, workdir, concurrency=2).start()
    web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir).start()
    try:
        api = Api(web.url)
        api.put_hook("trivial", script=TRIVIAL)
        api.put_hook("summary", script=SUMMARY)

        def drain(hook: str, body: bytes, count: int) -> float:
            return timed_drain(
                web.url, f"/h/{hook}", body, count, lambda: finished_any(client, hook)
            )

        drain("trivial", b"{}", 300)  # warm-up
        return {
            "trivial": drain("trivial", b"{}", events),
            "push 3.7 KB": drain("summary", github_push(3_700), events),
        }
    finally:
        web.stop()
        worker.stop()


def async_ha(quick: bool) -> dict:
    """One Redis against a Sentinel-fronted primary + replica with WAIT 1, in
    the same run (``scripts/bench async --ha``)."""
    events = 1000 if quick else 5000
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        single = RedisServer(workdir).start()
        try:
            alone = _ha_drains(hooklet_env(single.url), workdir, single.client(), events)
        finally:
            single.stop()
        cluster = SentinelCluster(workdir, maxmemory="1gb").start()
        try:
            env = hooklet_env(cluster.url, redis_sentinel_master=MASTER)
            ha = _ha_drains(env, workdir, cluster.primary.client(), events)
        finally:
            cluster.stop()
    print(f"\nasync end to end, one Redis vs Sentinel + replica + WAIT 1 ({events} events)")
    for name in alone:
        print(
            f"  {name:<14} one Redis {alone[name]:>8.1f}/s   HA {ha[name]:>8.1f}/s   "
            f"{ha[name] / alone[name]:.2f}x"
        )
    return {
        "events": events,
        "single_per_s": {k: round(v, 1) for k, v in alone.items()},
        "ha_wait_per_s": {k: round(v, 1) for k, v in ha.items()},
        "ha_ratio": {k: round(ha[k] / alone[k], 2) for k in alone},
    }
