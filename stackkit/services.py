"""hooklet's own processes: a Celery worker node, gunicorn serving the web
app, and Flower, each logging under the stack's work folder."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from stackkit.processes import (
    BIN,
    ROOT,
    answers,
    check_allowed,
    free_port,
    stop_process,
    wait_until,
)

__all__ = ["Web", "Worker", "shadow_worker", "start_flower"]


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
        check_allowed(f"a Celery worker ({self.name})")
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

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10) -> None:
        """Warm shutdown, then SIGKILL to the node and its children after
        ``timeout_s``: 10 s, as supervisord does (scripts/supervisor_conf.py).
        Under load a pool child sometimes waits out billiard's 30 s check
        that the node read all its results, long after its last job ended."""
        stop_process(self.proc, sig, timeout_s)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def shadow_worker(env: dict[str, str], workdir: Path) -> Worker:
    """The node that runs drafts' shadow runs (the Procfile's ``shadow``): the
    shadow queue only, one child. Not yet started."""
    return Worker(env, workdir, name="shadow", queues="shadow", concurrency=1)


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
        check_allowed("gunicorn")
        log = open(self.workdir / f"web-{self.port}.log", "ab")  # noqa: SIM115
        env = {**self.env, "HOOKLET_BIND": f"127.0.0.1:{self.port}"}
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "config/gunicorn.conf.py"), "app.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: answers(self.url + "/healthz"), timeout_s=30, what="gunicorn")
        return self

    def stop(self, graceful: bool = False) -> None:
        """Gunicorn's quick shutdown (SIGQUIT) unless ``graceful``: a graceful
        one (SIGTERM) also waits out every idle keep-alive connection a test's
        client still holds (``keepalive``, 5 s), and nothing a test asserts
        is in flight when it stops a web process."""
        stop_process(self.proc, signal.SIGTERM if graceful else signal.SIGQUIT)


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
