"""``scripts/run`` keeps serving when a process dies (issue 20, item 12).

It used to run everything under honcho, which stops every process when one
exits: a SIGKILLed worker node or a restarted Redis took web, console,
callbacks and Flower down for good. Under supervisord a process that dies is
restarted (and the restart logged), the others keep serving, every accepted
event still ends, and Ctrl-C stops every process it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
import requests

from tests.support.stack import ADMIN_TOKEN, BIN, ROOT, Api, free_port, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]


class Run:
    """``scripts/run`` in a session of its own, as a terminal would run it."""

    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.log_path = tmp_path / "run.log"
        self.bind = f"127.0.0.1:{free_port()}"
        self.redis_port = free_port()
        hooks = tmp_path / "hooks"
        hooks.mkdir()
        self.env = {
            **os.environ,
            "HOOKLET_DATA_DIR": str(self.data),
            "HOOKLET_BIND": self.bind,
            "HOOKLET_CONSOLE_BIND": f"127.0.0.1:{free_port()}",
            "HOOKLET_FLOWER_PORT": str(free_port()),
            "HOOKLET_REDIS_PORT": str(self.redis_port),
            "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN,
            "HOOKLET_HOOKS_DIR": str(hooks),
            "HOOKLET_WORKER_CONCURRENCY": "1",
            "HOOKLET_REAPER_INTERVAL_S": "1",
            "HOOKLET_REAPER_GRACE_S": "2",
            "HOOKLET_SKIP_BROWSER": "1",
        }
        self.env.pop("HOOKLET_REDIS_URL", None)  # scripts/run starts its own Redis
        self.proc: subprocess.Popen | None = None

    def start(self) -> Run:
        self.proc = subprocess.Popen(
            [str(ROOT / "scripts/run")],
            cwd=ROOT,
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: b"hooklet is running" in self.log_path.read_bytes() or self.proc.poll(),
            timeout_s=90,
            interval_s=0.5,
            what="scripts/run's banner",
        )
        assert self.proc.poll() is None, self.log()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.data / "supervisord.conf"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        return done.stdout

    def pid(self, name: str) -> int:
        out = self.ctl("pid", name).strip()
        return int(out) if out.isdigit() else 0

    def ours(self) -> list[psutil.Process]:
        """Every live process started for this run (they carry its data dir)."""
        found = []
        for process in psutil.process_iter():
            try:
                if process.pid == os.getpid() or process.status() == psutil.STATUS_ZOMBIE:
                    continue
                if process.environ().get("HOOKLET_DATA_DIR") == str(self.data):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to scripts/run's process group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(60)

    def clean_up(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.interrupt()
            except subprocess.TimeoutExpired:
                pass
        for process in self.ours():
            process.kill()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    started = Run(tmp_path)
    try:
        yield started.start()
    finally:
        started.clean_up()


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None


def _send(api: Api, hook_id: str, accepted: list[str]) -> int:
    try:
        response = api.send(hook_id, data=b'{"n": 1}', timeout=5)
    except requests.RequestException:
        return 0
    if response.status_code == 202:
        accepted.append(response.json()["jobId"])
    return response.status_code


def test_a_dead_worker_node_and_a_dead_redis_are_restarted_and_nothing_is_lost(
    run: Run,
) -> None:
    api = Api(f"http://{run.bind}")
    api.put_hook("supervised", script="({ body: 'ok' })", mode="async")
    accepted: list[str] = []
    for _ in range(10):
        assert _send(api, "supervised", accepted) == 202

    # The worker node's main process dies: supervisord starts a new one.
    worker = run.pid("worker")
    assert worker
    os.kill(worker, signal.SIGKILL)
    for _ in range(10):
        assert _send(api, "supervised", accepted) == 202  # the intake does not notice
    wait_until(lambda: run.pid("worker") not in (0, worker), timeout_s=30, what="a new worker")

    # Redis dies: supervisord restarts it and the AOF brings the queue back.
    redis_pid = run.pid("redis")
    os.kill(redis_pid, signal.SIGKILL)
    assert _status(f"http://{run.bind}/healthz") == 200  # web keeps answering
    for _ in range(5):
        assert _send(api, "supervised", accepted) in (202, 503)  # never a lost 2xx
    wait_until(lambda: run.pid("redis") not in (0, redis_pid), timeout_s=30, what="redis back")
    client = redis.Redis(port=run.redis_port)
    wait_until(lambda: _pings(client), timeout_s=30, what="redis answering")
    after = len(accepted)
    wait_until(
        lambda: _send(api, "supervised", accepted) == 202 and len(accepted) >= after + 5,
        timeout_s=30,
        interval_s=0.2,
        what="the intake accepting again",
    )

    # Every event answered 202 ends, succeeded, on the restarted worker.
    for job_id in accepted:
        assert api.wait_job(job_id, timeout_s=45)["status"] == "succeeded", job_id
    assert _status(f"http://{run.bind}/healthz") == 200
    for name in ("redis", "web", "console", "worker", "callbacks", "flower"):
        assert run.pid(name), f"{name} is not running:\n{run.ctl('status')}"

    # The restarts are logged, on the terminal and in supervisord's log.
    for text in (run.log(), (run.data / "logs/supervisord.log").read_text()):
        assert "exited: worker (terminated by SIGKILL" in text
        assert "exited: redis (terminated by SIGKILL" in text
        assert text.count("spawned: 'worker'") >= 2 and text.count("spawned: 'redis'") >= 2

    # Ctrl-C stops everything: scripts/run, supervisord and every process
    # they started (the killed node's pool children included).
    assert run.ours()
    run.interrupt()
    wait_until(lambda: not run.ours(), timeout_s=15, what="every process of the run gone")


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
