"""What the Schemathesis run found, each fixed, kept as a fast test."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.dry_run import sample_request
from tests.support.fast import put_hook


def test_a_null_body_base64_is_no_body() -> None:
    """``"bodyBase64": null`` was passed to b64decode: a 500 from both test-run routes."""
    event = sample_request({"bodyBase64": None, "path": None, "method": None})
    assert (event.body, event.path, event.method) == (b"", "/", "POST")


@pytest.mark.parametrize("field", ["method", "path", "clientAddress", "bodyBase64"])
def test_a_sample_request_field_of_the_wrong_type_is_a_400(
    client: FlaskClient, admin: dict[str, str], field: str
) -> None:
    response = client.post(
        "/api/scripts/test", json={"script": "1", "request": {field: {"x": 1}}}, headers=admin
    )
    assert response.status_code == 400, response.text
    assert response.json["error"]["code"] == "invalid_request"
    assert f"request.{field}" in response.json["error"]["message"]


def test_quotas_that_are_not_an_object_are_a_400_on_patch(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    """``PATCH /api/projects/default {"quotas": [null, null]}`` was merged as a mapping: a 500."""
    response = client.patch("/api/projects/default", json={"quotas": [None, None]}, headers=admin)
    assert response.status_code == 400, response.text
    assert response.json["error"]["message"].startswith("quotas")


def test_a_null_quota_in_a_patch_removes_it(client: FlaskClient, admin: dict[str, str]) -> None:
    client.patch("/api/projects/default", json={"quotas": {"maxHooks": 50}}, headers=admin)
    response = client.patch(
        "/api/projects/default", json={"quotas": {"maxHooks": None}}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert "maxHooks" not in response.json["quotas"]


def test_replacing_an_empty_kv_value_is_not_a_500(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    """Removing an empty value sent ``HINCRBY … -0`` (Lua's negative zero), which Redis refused."""
    client.put("/api/hooks/kv-empty", json={"script": "1"}, headers=admin)
    for _ in range(2):
        response = client.put(
            "/api/hooks/kv-empty/kv/k", json={"value": "", "ttlSec": 60}, headers=admin
        )
        assert response.status_code == 200, response.text
    assert client.delete("/api/hooks/kv-empty/kv/k", headers=admin).status_code in (200, 204)


def test_a_draft_try_naming_a_job_that_does_not_exist_answers_each_id(
    client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    """An unknown id among ``ids`` was a 500 (the found jobs were zipped with
    the ids asked, and a missing one shortened the list): each id gets its
    own answer, in the order asked."""
    put_hook(client, admin, hook_id, script="({ body: 'live' })")
    saved = client.put(f"/api/hooks/{hook_id}/draft", json={"script": "2"}, headers=admin)
    assert saved.status_code == 201, saved.text
    queued = client.post(f"/h/{hook_id}", json={"n": 1}).json["jobId"]  # no worker: stays queued
    response = client.post(f"/api/hooks/{hook_id}/draft/try",
                           json={"ids": ["no-such-job", queued]}, headers=admin)  # fmt: skip
    assert response.status_code == 200, response.text
    answered = [(j["jobId"], j["result"], j["reason"]) for j in response.json["jobs"]]
    assert answered == [("no-such-job", "failed", "not_found"),
                        (queued, "failed", "not_finished")]  # fmt: skip
