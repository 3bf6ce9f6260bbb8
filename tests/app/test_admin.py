"""The admin API for hooks, through Flask's test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.support.fast import assert_error, put_hook, send

Admin = dict[str, str]


def test_put_creates_then_replaces(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    url = f"/api/hooks/{hook_id}"
    created = client.put(url, json={"script": "null"}, headers=admin)
    assert created.status_code == 201 and created.json["version"] == 1
    replaced = client.put(url, json={"script": "({})", "mode": "sync"}, headers=admin)
    assert replaced.status_code == 200
    assert replaced.json["version"] == 2 and replaced.json["mode"] == "sync"


def test_put_of_the_same_definition_keeps_the_version(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="null")
    assert put_hook(client, admin, hook_id, script="null")["version"] == 1


def test_get_shows_defaults_and_never_secrets(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="null", secrets={"token": "hunter2"})
    response = client.get(f"/api/hooks/{hook_id}", headers=admin)
    hook = response.json
    assert "hunter2" not in response.text and "secrets" not in hook
    assert hook["secretNames"] == ["token"]
    assert hook["limits"] == {
        "timeoutMs": 30000,
        "heapMb": 10,
        "waitMs": 10000,
        "maxConcurrent": 10,
        "maxQueued": 10000,
    }
    assert hook["mode"] == "async" and hook["methods"] == [] and hook["enabled"] is True
    assert hook["requestsToTrack"] == 30


def test_list_and_delete(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    put_hook(client, admin, hook_id, script="null")
    listed = client.get("/api/hooks", headers=admin).json["hooks"]
    assert hook_id in [h["id"] for h in listed]
    url = f"/api/hooks/{hook_id}"
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url, headers=admin).status_code == 404
    assert client.delete(url, headers=admin).status_code == 404
    assert send(client, hook_id).status_code == 404


def test_post_creates_and_refuses_duplicates(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    definition = {"id": hook_id, "script": "null"}
    assert client.post("/api/hooks", json=definition, headers=admin).status_code == 201
    again = client.post("/api/hooks", json=definition, headers=admin)
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"


def test_rotating_the_callback_secret(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    created = client.put(
        f"/api/hooks/{hook_id}",
        json={"script": "null", "callbackUrl": "http://127.0.0.1:9/cb"},
        headers=admin,
    )
    old = created.json["callbackSecret"]
    assert old.startswith("whsec_")
    new = client.post(f"/api/hooks/{hook_id}/rotate-secret", headers=admin).json["callbackSecret"]
    assert new != old and new.startswith("whsec_")
    hook = client.get(f"/api/hooks/{hook_id}", headers=admin)
    assert new not in hook.text and old not in hook.text


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/hook", "http://169.254.169.254/latest", "http://[::1]:8080/"]
)
def test_internal_callback_urls_are_refused(
    client: FlaskClient, admin: Admin, hook_id: str, url: str
) -> None:
    response = client.put(
        f"/api/hooks/{hook_id}", json={"script": "null", "callbackUrl": url}, headers=admin
    )
    assert response.status_code == 422
    assert response.json["error"]["message"].startswith("callbackUrl:")
    assert "URL not allowed: " in response.json["error"]["message"]


def test_replay_runs_a_stored_event_again_as_a_new_job(
    client: FlaskClient, admin: Admin, run_job: Callable[[str], dict], hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="({ body: String.fromCharCode(...context.body) })")
    original = run_job(send(client, hook_id, data=b"payload").json["jobId"])
    response = client.post(f"/api/jobs/{original['jobId']}/replay", headers=admin)
    assert response.status_code == 202
    replay = run_job(response.json["jobId"])
    assert replay["jobId"] != original["jobId"] and replay["replayOf"] == original["jobId"]
    assert replay["result"]["body"] == "payload"
    missing = client.post(f"/api/jobs/{'0' * 32}/replay", headers=admin)
    assert_error(missing, 404, "job_not_found")


def test_only_a_finished_job_of_a_hook_with_a_callback_url_is_redelivered(
    client: FlaskClient, admin: Admin, run_job: Callable[[str], dict], hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="null")
    queued = send(client, hook_id).json["jobId"]
    assert_error(
        client.post(f"/api/jobs/{queued}/redeliver", headers=admin), 400, "invalid_request"
    )
    run_job(queued)  # finished, but its hook has no callbackUrl
    assert_error(
        client.post(f"/api/jobs/{queued}/redeliver", headers=admin), 400, "invalid_request"
    )
    missing = client.post(f"/api/jobs/{'0' * 32}/redeliver", headers=admin)
    assert_error(missing, 404, "job_not_found")
