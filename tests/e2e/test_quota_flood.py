"""One project's flood does not take another's share (issue 23 item 5,
Done-when): project B, past its ``eventsPerMinute``, is answered 429 with
Retry-After by the real gunicorn, while project A's events, sent during
B's flood, are all accepted and all end succeeded (none lost). B's
accepted events never exceed its bucket (a minute's worth plus what
refilled while the test ran). Before, the quota was stored, not applied:
B's flood was accepted whole."""

from __future__ import annotations

import math
import threading
import time
import uuid

import pytest
import requests

from tests.support.stack import Api

pytestmark = pytest.mark.stack

SCRIPT = "(async () => ({ statusCode: 200, body: { ok: true } }))()"
B_PER_MINUTE = 20
B_SENT = 120
A_SENT = 30


def _project(api: Api, quotas: dict[str, int]) -> str:
    project = f"q-{uuid.uuid4().hex[:8]}"
    body = {"id": project, "name": project, "quotas": quotas}
    answer = requests.post(f"{api.base}/api/projects", json=body, headers=api.admin, timeout=10)
    assert answer.status_code == 201, answer.text
    return project


def test_a_flooding_project_gets_429_while_the_others_events_flow(api: Api) -> None:
    a, b = _project(api, {}), _project(api, {"eventsPerMinute": B_PER_MINUTE})
    api.put_hook(f"{a}-in", script=SCRIPT, mode="async", project=a)
    api.put_hook(f"{b}-in", script=SCRIPT, mode="async", project=b)

    flood: list[requests.Response] = []

    def send_flood() -> None:
        sender = Api(api.base)
        for _ in range(B_SENT):
            flood.append(sender.send(f"{b}-in", data=b"{}"))

    started = time.monotonic()
    flooder = threading.Thread(target=send_flood)
    flooder.start()
    calm = Api(api.base)
    a_answers = [calm.send(f"{a}-in", data=b"{}") for _ in range(A_SENT)]
    flooder.join(timeout=120)
    elapsed_s = time.monotonic() - started
    assert not flooder.is_alive()

    assert [r.status_code for r in a_answers] == [202] * A_SENT
    b_codes = [r.status_code for r in flood]
    assert set(b_codes) <= {202, 429}
    accepted_b = b_codes.count(202)
    refilled = math.ceil(elapsed_s * B_PER_MINUTE / 60) + 1
    assert B_PER_MINUTE <= accepted_b <= B_PER_MINUTE + refilled, (accepted_b, elapsed_s)
    refused = [r for r in flood if r.status_code == 429]
    assert refused and all(
        r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
        for r in refused
    )

    # None of A's events lost: every one ran and succeeded; so did B's accepted ones.
    for answer in [*a_answers, *(r for r in flood if r.status_code == 202)]:
        assert api.wait_job(answer.json()["jobId"], timeout_s=60)["status"] == "succeeded"

    metrics = requests.get(f"{api.base}/metrics", timeout=10).text
    line = f'hooklet_quota_refusals_total{{project="{b}",quota="eventsPerMinute"}}'
    assert any(row.startswith(line) for row in metrics.splitlines()), metrics[-2000:]
