"""Faults during a sync wait, caused for real: a killed web process and Redis
going away. The event was stored before the wait, so it still runs; no job
stays ``running``, and what the sender was told stays true."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys

pytestmark = pytest.mark.stack

SLOW = "(async () => { await new Promise(r => setTimeout(r, 1500)); return { body: 'done' }; })()"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[RedisServer, Api, Web]]:
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url, hard_limit_margin_ms=1000, visibility_timeout_s=8)
    web = Web(env, tmp_path).start()
    worker = Worker(env, tmp_path, concurrency=1).start()
    yield server, Api(web.url), web
    worker.stop(signal.SIGKILL)
    web.stop()
    server.stop()


def history(api: Api, hook_id: str) -> list[dict]:
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs", headers=api.admin, timeout=10)
    return response.json()["jobs"]


def send_in_background(api: Api, hook_id: str) -> dict:
    """Send a sync request in a thread; its answer (or error) lands in the dict."""
    out: dict = {}

    def send() -> None:
        try:
            out["response"] = requests.post(f"{api.base}/h/{hook_id}", timeout=60)
        except requests.RequestException as exc:
            out["error"] = exc

    out["thread"] = threading.Thread(target=send, daemon=True)
    out["thread"].start()
    return out


def running_job(api: Api, hook_id: str) -> dict:
    return wait_until(
        lambda: next((j for j in history(api, hook_id) if j["status"] == "running"), None),
        timeout_s=30,
        what="the sync job to run",
    )


def test_a_web_process_killed_during_a_sync_wait_loses_nothing(stack, hook_id: str) -> None:
    server, api, web = stack
    api.put_hook(hook_id, mode="sync", script=SLOW, limits={"timeoutMs": 3000, "waitMs": 30_000})
    sent = send_in_background(api, hook_id)
    job = running_job(api, hook_id)
    for process in psutil.Process(web.proc.pid).children():  # gunicorn's workers
        process.kill()
    sent["thread"].join(60)
    assert "error" in sent or sent["response"].status_code >= 500  # cut off, never a 2xx
    api.http.close()  # its pooled connections went to the killed workers
    # The job still ends, once, and the web answers again (gunicorn forks anew).
    done = api.wait_job(job["jobId"], timeout_s=60)
    assert (done["status"], done["attempts"]) == ("succeeded", 1)
    assert server.client().zcard(keys.running()) == 0
    again = api.send(hook_id, timeout=60)
    assert (again.status_code, again.text) == (200, "done")


def test_redis_going_away_during_a_sync_wait(stack, hook_id: str) -> None:
    server, api, _ = stack
    api.put_hook(hook_id, mode="sync", script=SLOW, limits={"timeoutMs": 3000, "waitMs": 30_000})
    sent = send_in_background(api, hook_id)
    job = running_job(api, hook_id)
    server.stop()  # AOF: the job is kept
    sent["thread"].join(60)
    response = sent["response"]
    # The event was stored before the wait: the sender gets its status URL.
    assert response.status_code == 202
    assert response.json()["jobId"] == job["jobId"]
    server.start()
    # The script ran when Redis was gone, so its outcome was lost with the
    # connection: the reaper runs the job again (deadline + grace), and it ends.
    done = api.wait_job(job["jobId"], timeout_s=90)
    assert done["status"] == "succeeded"
    wait_until(lambda: server.client().zcard(keys.running()) == 0, what="nothing left running")
