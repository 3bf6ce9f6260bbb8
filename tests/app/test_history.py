"""Request history and its HAR export, read from jobs the executor ran in the
test process. (Test runs, which wait for a worker, are in tests/e2e/test_dry_run.py.)"""

from __future__ import annotations

import base64
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.support.fast import history, put_hook, send

Admin = dict[str, str]
RunJob = Callable[[str], dict]


def run(client: FlaskClient, run_job: RunJob, hook_id: str, path: str = "", **kwargs) -> dict:
    """Send an event to an async hook and run its job."""
    response = send(client, hook_id, path, **kwargs)
    assert response.status_code == 202, response.text
    return run_job(response.json["jobId"])


def test_history_is_newest_first_and_evicts_the_oldest(
    client: FlaskClient, admin: Admin, run_job: RunJob, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="({ body: 'n' + context.query.n })", requestsToTrack=3)
    for n in range(5):
        assert (
            run(client, run_job, hook_id, query_string={"n": str(n)})["result"]["body"] == f"n{n}"
        )
    jobs = history(client, admin, hook_id)
    assert [j["request"]["query"]["n"] for j in jobs] == ["4", "3", "2"]
    assert all(j["status"] == "succeeded" and j["durationMs"] is not None for j in jobs)
    assert jobs[0]["result"]["body"] == "n4"


def test_history_records_failures(
    client: FlaskClient, admin: Admin, run_job: RunJob, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="throw new Error('nope')")
    job = run(client, run_job, hook_id, data=b"payload")
    [entry] = history(client, admin, hook_id)
    assert entry["jobId"] == job["jobId"] and entry["reason"] == "error"
    assert entry["request"]["body"] == "payload" and "nope" in entry["error"]


def test_history_of_an_unknown_hook_is_404(client: FlaskClient, admin: Admin) -> None:
    assert client.get("/api/hooks/no-such-hook/jobs", headers=admin).status_code == 404


def test_har_export_parses_and_holds_the_requests(
    client: FlaskClient, admin: Admin, run_job: RunJob, hook_id: str
) -> None:
    put_hook(
        client,
        admin,
        hook_id,
        script="({ headers: { 'content-type': 'image/png' }, body: new Uint8Array([0x89, 0x50]) })",
    )
    run(
        client,
        run_job,
        hook_id,
        "/first",
        query_string={"a": "1"},
        data=b'{"x":1}',
        headers={"Content-Type": "application/json"},
    )
    run(client, run_job, hook_id, "/second", method="PUT", data=b"\xff\x00")
    response = client.get(f"/api/hooks/{hook_id}/jobs.har", headers=admin)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{hook_id}.har"'
    har = response.json["log"]
    assert har["version"] == "1.2" and har["creator"]["name"] == "hooklet"
    second, first = har["entries"]
    assert first["request"]["method"] == "POST"
    assert first["request"]["url"].endswith(f"/h/{hook_id}/first?a=1")
    assert first["request"]["queryString"] == [{"name": "a", "value": "1"}]
    assert first["request"]["postData"] == {"mimeType": "application/json", "text": '{"x":1}'}
    assert second["request"]["method"] == "PUT"
    assert base64.b64decode(second["request"]["postData"]["text"]) == b"\xff\x00"
    assert first["response"]["status"] == 200
    assert first["response"]["content"]["mimeType"] == "image/png"
    assert base64.b64decode(first["response"]["content"]["text"]) == b"\x89P"
    for entry in har["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)
