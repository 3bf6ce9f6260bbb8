"""Issue 20 item 1: a burst of unauthenticated ``/readyz`` calls against a
real gunicorn (gevent) web process must neither hang the probe nor take the
intake down. ``/readyz`` used to broadcast a Celery ping per call: 50
clients were enough for every call to time out, later ones to hang for
minutes and, with enough of them open, the intake to stop answering.

No timing is asserted: every readiness call must get an answer (200 or 503,
within a generous per-request timeout), and every event sent to the intake
beside the burst must be accepted (202)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.stack import Api, Web, Worker

pytestmark = pytest.mark.stack

CLIENTS = 50
CALLS_PER_CLIENT = 10  # 500 calls in all
REQUEST_TIMEOUT_S = 30
BURST_DEADLINE_S = 150  # a client issues no new call after this


@pytest.fixture
def own_web(env: dict[str, str], workdir: Path, worker: Worker) -> Iterator[Web]:
    """A web process of its own: the old code could wedge it for minutes."""
    server = Web(env, workdir).start()
    yield server
    server.stop()


class Intake(threading.Thread):
    """Sends one event at a time to an async hook, keeping each answer."""

    def __init__(self, api: Api, hook_id: str) -> None:
        super().__init__(daemon=True)
        self.api, self.hook_id = api, hook_id
        self.answers: list[int | str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        http = requests.Session()
        while not self.stopping.is_set():
            try:
                answer = http.post(
                    f"{self.api.base}/h/{self.hook_id}", data=b"{}", timeout=REQUEST_TIMEOUT_S
                )
                self.answers.append(answer.status_code)
            except requests.RequestException as exc:
                self.answers.append(type(exc).__name__)
            time.sleep(0.02)


def _client(url: str, deadline: float) -> list[int | str]:
    """One readiness client: its calls in turn, each answer's status (or why
    there was none). Stops at the first call left unanswered."""
    http = requests.Session()
    seen: list[int | str] = []
    for _ in range(CALLS_PER_CLIENT):
        if time.monotonic() > deadline:
            seen.append("not sent: the burst's deadline passed")
            break
        try:
            seen.append(http.get(url, timeout=REQUEST_TIMEOUT_S).status_code)
        except requests.RequestException as exc:
            seen.append(type(exc).__name__)
            break
    return seen


@pytest.mark.timeout(400)
def test_a_readiness_burst_neither_hangs_nor_stops_the_intake(own_web: Web) -> None:
    api = Api(own_web.url)
    hook_id = f"ready-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, script="null")
    intake = Intake(api, hook_id)
    intake.start()
    try:
        deadline = time.monotonic() + BURST_DEADLINE_S
        with ThreadPoolExecutor(CLIENTS) as pool:
            runs = list(
                pool.map(lambda _: _client(own_web.url + "/readyz", deadline), range(CLIENTS))
            )
        during = len(intake.answers)
    finally:
        intake.stopping.set()
        intake.join(REQUEST_TIMEOUT_S + 5)

    statuses = [s for run in runs for s in run]
    unanswered = [s for s in statuses if s not in (200, 503)]
    assert not unanswered, f"{len(unanswered)} of {len(statuses)} calls: {unanswered[:5]}"
    assert len(statuses) == CLIENTS * CALLS_PER_CLIENT
    # The intake answered beside the burst, every event accepted.
    assert during > 0 and intake.answers
    assert set(intake.answers) == {202}, intake.answers
    # And both still answer at once after it.
    assert requests.get(own_web.url + "/readyz", timeout=REQUEST_TIMEOUT_S).status_code in (
        200,
        503,
    )
    assert api.send(hook_id, data=b"{}").status_code == 202
