"""Real processes for tests: redis-server, Celery workers and gunicorn.

Every process gets a free port and a log file under the test's temp folder;
nothing is mocked and nothing is skipped when a service is missing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
import requests

from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token"
BIN = Path(sys.executable).parent

# Cleared by tests/conftest.py for tests not marked ``stack``, so the fast
# layer can never start gunicorn or Celery by mistake (scripts/bench may).
processes_allowed = True


def _check_allowed(what: str) -> None:
    if not processes_allowed:
        raise RuntimeError(f"this test starts {what}: mark it @pytest.mark.stack")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout_s: float = 20.0, interval_s: float = 0.05, what: str = ""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s}s waiting for {what or predicate}")


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout_s: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait(5)


def default_maxmemory() -> str:
    """The budget tests run Redis with, as scripts/run does (HOOKLET_REDIS_MAXMEMORY)."""
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
        _stop(self.proc, sig)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def hooklet_env(redis_url: str, **overrides: str | int | float) -> dict[str, str]:
    env = {
        **os.environ,
        "HOOKLET_REDIS_URL": redis_url,
        "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOOKLET_REAPER_INTERVAL_S": "1",
        "HOOKLET_REAPER_GRACE_S": "2",
        # Callbacks: the local receiver is allowed, and retries come quickly.
        "HOOKLET_CALLBACK_ALLOWLIST": "127.0.0.1",
        "HOOKLET_CALLBACK_SCHEDULE_S": "1,1,1",
        "HOOKLET_CALLBACK_TIMEOUT_S": "2",
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.update({f"HOOKLET_{k.upper()}": str(v) for k, v in overrides.items()})
    return env


@dataclass
class Worker:
    env: dict[str, str]
    workdir: Path
    name: str = "scripts"
    queues: str = "scripts.sync,scripts"  # the sync lane first
    concurrency: int = 2
    pool: str = "prefork"
    proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"worker-{self.name}.log"

    def start(self) -> Worker:
        _check_allowed(f"a Celery worker ({self.name})")
        log = open(self.log_path, "ab")  # noqa: SIM115
        start_offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "workers",
                "worker",
                "-Q",
                self.queues,
                "-n",
                f"{self.name}@%h",
                "--concurrency",
                str(self.concurrency),
                "--pool",
                self.pool,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(
            lambda: b" ready." in self.log_path.read_bytes()[start_offset:] or self._died(),
            timeout_s=60,
            what=f"worker {self.name}",
        )
        if self._died():
            raise RuntimeError(f"worker {self.name} died:\n{self.log_path.read_text()[-3000:]}")
        return self

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children() if self.proc else []

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30) -> None:
        _stop(self.proc, sig, timeout_s)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Web:
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Web:
        _check_allowed("gunicorn")
        log = open(self.workdir / f"web-{self.port}.log", "ab")  # noqa: SIM115
        env = {**self.env, "HOOKLET_BIND": f"127.0.0.1:{self.port}"}
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "config/gunicorn.conf.py"), "app.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: _answers(self.url + "/healthz"), timeout_s=30, what="gunicorn")
        return self

    def stop(self) -> None:
        _stop(self.proc)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


class Api:
    """A small HTTP client for tests: admin calls carry the token."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def put_hook(self, hook_id: str, **definition) -> dict:
        response = self.http.put(
            f"{self.base}/api/hooks/{hook_id}", json=definition, headers=self.admin, timeout=10
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def send(self, hook_id: str, path: str = "", **kwargs) -> requests.Response:
        kwargs.setdefault("method", "POST")
        kwargs.setdefault("timeout", 30)
        return self.http.request(url=f"{self.base}/h/{hook_id}{path}", **kwargs)

    def job(self, job_id: str) -> dict:
        response = self.http.get(f"{self.base}/jobs/{job_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_job(self, job_id: str, timeout_s: float = 30) -> dict:
        final = ("succeeded", "failed")
        return wait_until(
            lambda: (j := self.job(job_id))["status"] in final and j,
            timeout_s=timeout_s,
            interval_s=0.05,
            what=f"job {job_id}",
        )

    def run(self, hook_id: str, path: str = "", timeout_s: float = 30, **kwargs) -> dict:
        """Send an event to an async hook and wait for its job to end."""
        response = self.send(hook_id, path, **kwargs)
        assert response.status_code == 202, response.text
        return self.wait_job(response.json()["jobId"], timeout_s)


def start_flower(
    env: dict[str, str], workdir: Path, auth: tuple[str, str]
) -> tuple[subprocess.Popen, str]:
    """``celery -A workers flower`` on a free loopback port behind basic auth;
    returns the process and its URL (not yet waited for)."""
    port = free_port()
    log = open(workdir / "flower.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "workers",
            "flower",
            "--address=127.0.0.1",
            f"--port={port}",
            f"--basic-auth={auth[0]}:{auth[1]}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"
