"""A Redis primary, a replica and three Sentinels as real processes on free
loopback ports, with short timeouts so a failover takes a few seconds."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import redis

from stackkit.processes import free_port, stop_process, wait_until
from stackkit.redis_server import RedisServer

MASTER = "hooklet"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


@dataclass
class SentinelNode:
    workdir: Path
    master_port: int
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def start(self) -> SentinelNode:
        folder = self.workdir / f"sentinel-{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "sentinel.conf"  # Sentinel rewrites it: one per node
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
        )
        log = open(folder / "sentinel.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["redis-sentinel", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_until(lambda: _answers(self.client()), what=f"sentinel {self.port}")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def stop(self) -> None:
        stop_process(self.proc)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@dataclass
class SentinelCluster:
    workdir: Path
    maxmemory: str = "256mb"
    primary: RedisServer | None = None
    replica: RedisServer | None = None
    sentinels: list[SentinelNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        """HOOKLET_REDIS_URL in the form Celery documents."""
        return ";".join(f"sentinel://127.0.0.1:{s.port}" for s in self.sentinels)

    def start(self) -> SentinelCluster:
        self.primary = RedisServer(self.workdir, maxmemory=self.maxmemory).start()
        self.replica = RedisServer(
            self.workdir,
            maxmemory=self.maxmemory,
            extra_args=("--replicaof", "127.0.0.1", str(self.primary.port)),
        ).start()
        wait_until(lambda: _linked(self.replica), what="the replica's link to the primary")
        self.sentinels = [SentinelNode(self.workdir, self.primary.port).start() for _ in range(3)]
        wait_until(
            self._watching, timeout_s=30, what="sentinels to find each other and the replica"
        )
        return self

    def _watching(self) -> bool:
        for node in self.sentinels:
            try:
                master = node.client().sentinel_master(MASTER)
            except redis.RedisError:
                return False
            if master.get("num-other-sentinels", 0) < 2 or master.get("num-slaves", 0) < 1:
                return False
        return True

    def master_port(self) -> int | None:
        try:
            _, port = self.sentinels[0].client().sentinel_get_master_addr_by_name(MASTER)
        except (redis.RedisError, TypeError):
            return None
        return int(port)

    def kill_primary(self) -> RedisServer:
        """SIGKILL whichever server is the master now; returns it."""
        port = self.master_port()
        victim = self.primary if self.primary.port == port else self.replica
        victim.stop(signal.SIGKILL)
        return victim

    def wait_failover(self, old_port: int, timeout_s: float = 60) -> int:
        return wait_until(
            lambda: (p := self.master_port()) not in (None, old_port) and p,
            timeout_s=timeout_s,
            what="Sentinel to promote the replica",
        )

    def rejoin(self, server: RedisServer) -> None:
        """Start a killed server again on its port, as a replica of the new
        master (as Sentinel would reconfigure it)."""
        server.extra_args = ("--replicaof", "127.0.0.1", str(self.master_port()))
        server.start()
        # On a loaded machine Sentinel may fail over once more (to the server
        # that just came back): then the other one is the replica.
        wait_until(
            lambda: _linked(self.primary) or _linked(self.replica),
            timeout_s=60,
            what="a replica linked to the master again",
        )

    def stop(self) -> None:
        for node in self.sentinels:
            node.stop()
        for server in (self.replica, self.primary):
            if server is not None:
                server.stop()


def _linked(server: RedisServer) -> bool:
    try:
        info = server.client().info("replication")
    except redis.RedisError:
        return False
    return info.get("role") == "slave" and info.get("master_link_status") == "up"
