"""A redis-server of its own, with hooklet's config/redis.conf, on a free
loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import redis

from stackkit.processes import ROOT, free_port, stop_process, wait_until
from workers.settings import Settings

__all__ = ["RedisServer", "default_maxmemory"]


def default_maxmemory() -> str:
    """The budget stacks run Redis with, as scripts/run does (HOOKLET_REDIS_MAXMEMORY)."""
    return os.environ.get("HOOKLET_REDIS_MAXMEMORY") or Settings().redis_maxmemory


@dataclass
class RedisServer:
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    maxmemory: str = field(default_factory=default_maxmemory)
    extra_args: tuple[str, ...] = ()  # e.g. ("--replicaof", "127.0.0.1", "6390")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        data = self.workdir / f"redis-{self.port}"
        data.mkdir(parents=True, exist_ok=True)
        log = open(data / "redis.log", "ab")  # noqa: SIM115
        # A copy: Sentinel makes the servers it manages rewrite their config file.
        conf = data / "redis.conf"
        conf.write_text((ROOT / "config/redis.conf").read_text())
        self.proc = subprocess.Popen(
            [
                "redis-server",
                str(conf),
                "--port",
                str(self.port),
                "--dir",
                str(data),
                "--bind",
                "127.0.0.1",
                "--maxmemory",
                self.maxmemory,
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), what="redis-server")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
