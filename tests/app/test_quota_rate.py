"""A project's ``eventsPerMinute`` (issue 23 item 5): a token bucket in
Redis checked inside the intake's one CREATE call. Past it the project's
events get 429 ``rate_limited`` with Retry-After, counted in /metrics by
project; another project's events are untouched. Before, the quota was
stored and never applied: every event was accepted."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient

from tests.app.test_metrics import scrape, value
from tests.support.fast import assert_error, put_hook, send

SCRIPT = "(async () => ({ statusCode: 200 }))()"


def _project(client: FlaskClient, admin: dict[str, str], quotas: dict[str, int]) -> str:
    project = f"r-{uuid.uuid4().hex[:8]}"
    body = {"id": project, "name": project, "quotas": quotas}
    assert client.post("/api/projects", json=body, headers=admin).status_code == 201
    return project


def test_flooding_project_gets_429_while_another_flows(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    flood = _project(client, admin, {"eventsPerMinute": 3})
    calm = _project(client, admin, {})
    # Two hooks share the flooding project's bucket.
    for hook in (f"{flood}-a", f"{flood}-b"):
        put_hook(client, admin, hook, script=SCRIPT, mode="async", project=flood)
    put_hook(client, admin, f"{calm}-a", script=SCRIPT, mode="async", project=calm)

    codes = [send(client, f"{flood}-{'ab'[n % 2]}").status_code for n in range(3)]
    assert codes == [202, 202, 202]
    refused = send(client, f"{flood}-b")
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert_error(send(client, f"{flood}-a"), 429, "rate_limited")

    for _ in range(10):
        assert send(client, f"{calm}-a").status_code == 202

    samples = scrape(client)
    quota = "eventsPerMinute"
    assert value(samples, "hooklet_quota_refusals_total", project=flood, quota=quota) == 2
    assert not value(samples, "hooklet_quota_refusals_total", project=calm, quota=quota)


def test_a_duplicate_or_refused_event_spends_no_token(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    project = _project(client, admin, {"eventsPerMinute": 2})
    hook = f"{project}-a"
    put_hook(client, admin, hook, script=SCRIPT, mode="async", project=project)
    retried = {"Idempotency-Key": "delivery-1"}
    codes = [send(client, hook, headers=retried).status_code for _ in range(4)]
    assert codes == [202, 200, 200, 200]  # one event, sent four times: one token
    assert send(client, hook).status_code == 202
    assert_error(send(client, hook), 429, "rate_limited")


def test_no_quota_no_limit(client: FlaskClient, admin: dict[str, str]) -> None:
    project = _project(client, admin, {"maxHooks": 5})
    hook = f"{project}-a"
    put_hook(client, admin, hook, script=SCRIPT, mode="async", project=project)
    assert all(send(client, hook).status_code == 202 for _ in range(20))
