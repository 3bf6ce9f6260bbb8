"""A Redis failover under load, whole stack: a primary, a replica and three
Sentinels; events arrive steadily while the primary is SIGKILLed and
Sentinel promotes the replica. Every event answered 2xx is found and
finishes; web and workers carry on without a restart; /readyz is 503 in the
gap and 200 after."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.sentinel import MASTER, SentinelCluster
from tests.support.stack import Api, Web, Worker, hooklet_env, wait_until

pytestmark = pytest.mark.stack


@pytest.fixture
def ha(tmp_path: Path) -> Iterator[tuple[SentinelCluster, Web, Worker]]:
    cluster = SentinelCluster(tmp_path).start()
    env = hooklet_env(
        cluster.url,
        redis_sentinel_master=MASTER,
        redis_wait_timeout_ms=500,
        visibility_timeout_s=15,
        hard_limit_margin_ms=2000,
    )
    web = Web(env, tmp_path).start()
    worker = Worker(env, tmp_path, name="ha", concurrency=2).start()
    yield cluster, web, worker
    worker.stop()
    web.stop()
    cluster.stop()


class Sender(threading.Thread):
    """Sends an event every 20 ms and keeps what each answer was."""

    def __init__(self, api: Api, hook_id: str) -> None:
        super().__init__(daemon=True)
        self.api, self.hook_id = api, hook_id
        self.accepted: list[str] = []
        self.statuses: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stopping.is_set():
            try:
                answer = self.api.send(self.hook_id, data=b'{"n": %d}' % n, timeout=15)
            except requests.RequestException:
                self.statuses.append(0)
            else:
                self.statuses.append(answer.status_code)
                if answer.status_code == 202:
                    self.accepted.append(answer.json()["jobId"])
            n += 1
            time.sleep(0.02)


class Probe(threading.Thread):
    """Polls /readyz and keeps (time, status)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.seen = url + "/readyz", []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.seen.append((time.monotonic(), requests.get(self.url, timeout=5).status_code))
            except requests.RequestException:
                self.seen.append((time.monotonic(), 0))
            time.sleep(0.1)


@pytest.mark.timeout(300)
def test_a_killed_primary_loses_no_acknowledged_event(ha, hook_id: str) -> None:
    cluster, web, worker = ha
    api = Api(web.url)
    # 50 ms per event: the worker always holds reserved, unacknowledged
    # messages when the primary dies (what a broker reconnect must survive).
    script = "(async () => { await new Promise(r => setTimeout(r, 50)); return { body: 'ok' }; })()"
    api.put_hook(hook_id, script=script, limits={"timeoutMs": 2000})
    wait_until(lambda: requests.get(web.url + "/readyz", timeout=5).status_code == 200)
    web_pid, worker_pid = web.proc.pid, worker.proc.pid
    sender, probe = Sender(api, hook_id), Probe(web.url)
    sender.start()
    probe.start()
    try:
        wait_until(lambda: len(sender.accepted) >= 40, timeout_s=60, what="events before")
        old = cluster.master_port()
        killed_at = time.monotonic()
        victim = cluster.kill_primary()
        cluster.wait_failover(old)
        promoted_at = time.monotonic()
        cluster.rejoin(victim)  # a replica again, so WAIT can be met
        before = len(sender.accepted)
        wait_until(lambda: len(sender.accepted) >= before + 40, timeout_s=60, what="events after")
        wait_until(lambda: probe.seen[-1][1] == 200, timeout_s=60, what="/readyz 200 again")
    finally:  # never leave threads sending after the test
        sender.stopping.set()
        probe.stopping.set()
        sender.join(30)
        probe.join(30)

    assert set(sender.statuses) <= {202, 503}, sorted(set(sender.statuses))  # never a 500
    gap = [status for at, status in probe.seen if killed_at <= at <= promoted_at + 1]
    assert 503 in gap, probe.seen
    assert probe.seen[-1][1] == 200

    # Every acknowledged event is on the promoted replica (WAIT), and every
    # one ends. A task message popped just before the primary died is gone
    # from the replica, but it was only a token: the job waits in its hook's
    # list, and the reaper's next sweep gives it a token of its own.
    def settled() -> list[dict]:
        jobs = [api.job(job_id) for job_id in sender.accepted]
        return [j for j in jobs if j["status"] not in ("succeeded", "failed")]

    wait_until(lambda: not settled(), timeout_s=90, interval_s=0.5, what="every job to end")
    statuses = {api.job(job_id)["status"] for job_id in sender.accepted}
    assert statuses == {"succeeded"}, statuses
    assert web.proc.poll() is None and worker.proc.poll() is None  # no restart
    assert (web.proc.pid, worker.proc.pid) == (web_pid, worker_pid)
