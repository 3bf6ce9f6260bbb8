"""Test and draft try runs (inline jobs) are not the hook's events: a failing
try run leaves /metrics as it was for the hook (users alert on
hooklet_jobs_finished_total{status="failed"}), while the hook's own failing
event still counts. Runs go through the worker's executor in the test process."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app import services
from tests.support.fast import put_hook, send
from workers.store.jobs.records import EventRequest

FAILING = "(() => { throw new Error('boom') })()"


def hook_samples(client: FlaskClient, hook_id: str) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.labels.get("hook") == hook_id
        and not sample.name.startswith("hooklet_events_received")
    }


def test_a_failing_try_run_is_not_counted_in_metrics(
    client: FlaskClient,
    flask_app: Flask,
    admin: dict[str, str],
    run_job: Callable[[str], dict],
    hook_id: str,
) -> None:
    put_hook(client, admin, hook_id, script=FAILING)
    before = hook_samples(client, hook_id)
    spec = {"hookId": hook_id, "version": 1, "script": FAILING, "limits": {"timeoutMs": 1000}}
    request = EventRequest("POST", "/", "", {}, {}, "127.0.0.1", b"{}")
    with flask_app.app_context():
        try_id = services.dispatcher().submit_inline(spec, request, 1000)
    assert run_job(try_id)["status"] == "failed"
    assert hook_samples(client, hook_id) == before

    # The hook's own failing event is counted (the check above can fail).
    assert run_job(send(client, hook_id).json["jobId"])["status"] == "failed"
    after = hook_samples(client, hook_id)
    key = ("hooklet_jobs_finished_total", (("hook", hook_id), ("status", "failed")))
    assert after.get(key, 0) - before.get(key, 0) == 1
