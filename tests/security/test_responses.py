"""Issue 13 items 8 and 9: ``X-Hooklet-Job`` and ``Server-Timing`` only for
hooks that ask; ``/metrics`` behind an optional bearer token."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.e2e.test_cli import cli
from tests.security.conftest import ADMIN
from tests.support.stack import Api


@pytest.mark.stack
def test_job_and_timing_headers_are_opt_in(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, mode="sync", script="({ body: 'hi' })")
    plain = api.send(hook_id)
    assert plain.status_code == 200 and plain.text == "hi"
    assert "X-Hooklet-Job" not in plain.headers and "Server-Timing" not in plain.headers
    failing = f"{hook_id}-f"
    api.put_hook(failing, mode="sync", script="(() => { throw new Error('x'); })()")
    assert "X-Hooklet-Job" not in api.send(failing).headers

    debug = f"{hook_id}-d"
    api.put_hook(debug, mode="sync", script="({ body: 'hi' })", debugHeaders=True)
    shown = api.send(debug)
    assert len(shown.headers["X-Hooklet-Job"]) == 32
    assert shown.headers["Server-Timing"].startswith("script;dur=")
    assert api.job(shown.headers["X-Hooklet-Job"])["status"] == "succeeded"

    # The CLI tells a sync answer from an accepted event without the header.
    sent = cli(api, "--json", "send", hook_id)
    assert sent.returncode == 0, sent.stderr
    assert '"body": "hi"' in sent.stdout and '"jobId": null' in sent.stdout


def test_debug_headers_must_be_a_boolean(client: FlaskClient, hook_id: str) -> None:
    response = client.put(
        f"/api/hooks/{hook_id}", json={"script": "1", "debugHeaders": "yes"}, headers=ADMIN
    )
    assert response.status_code == 422 and "debugHeaders" in response.json["error"]["message"]


def test_metrics_token(make_client: Callable[..., FlaskClient]) -> None:
    open_client = make_client()
    assert open_client.get("/metrics").status_code == 200  # no token set: as before

    client = make_client(metrics_token="scrape-me")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic scrape-me"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json["error"]["code"] == "unauthorized"
        assert b"hooklet_" not in refused.data
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert allowed.status_code == 200 and b"hooklet_events_received_total" in allowed.data
