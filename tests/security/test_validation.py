"""Issue 13 item 12 (but a script faking ``reason: memory``, which the
runtime's tests cover): what the admin API refuses, and how."""

from __future__ import annotations

import base64

import pytest
from flask.testing import FlaskClient

from tests.security.conftest import ADMIN


def _put(client: FlaskClient, hook_id: str, definition: object):
    return client.put(f"/api/hooks/{hook_id}", json=definition, headers=ADMIN)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-a": "1\r\nSet-Cookie: stolen=1"},
        {"x-a": "1\nx-b: 2"},
        {"x-a": "1\r"},
        {"x-a": "nul\x00"},
        {"x a": "1"},
        {"x-a\r\nx-b": "1"},
        {"": "1"},
    ],
)
def test_static_headers_with_cr_lf_or_bad_names_are_refused(
    client: FlaskClient, hook_id: str, headers: dict[str, str]
) -> None:
    response = _put(client, hook_id, {"mode": "sync", "response": {"headers": headers}})
    assert response.status_code == 422, response.json
    assert "response.headers" in response.json["error"]["message"]


def test_ordinary_static_headers_are_kept(client: FlaskClient, hook_id: str) -> None:
    headers = {"Content-Type": "text/plain; charset=utf-8", "x-tab": "a\tb", "x-utf8": "café"}
    response = _put(client, hook_id, {"response": {"headers": headers}})
    assert response.status_code == 201 and response.json["response"]["headers"] == headers


@pytest.mark.parametrize("depth", [65, 2000, 100_000])
def test_deeply_nested_admin_json_is_a_400(client: FlaskClient, hook_id: str, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    for method, url in (
        ("PUT", f"/api/hooks/{hook_id}"),
        ("POST", "/api/hooks"),
        ("POST", "/api/scripts/test"),
    ):
        body = '{"id": "%s", "response": {"body": %s}}' % (hook_id, nested)  # noqa: UP031
        response = client.open(
            url, method=method, data=body, content_type="application/json", headers=ADMIN
        )
        assert response.status_code == 400, (url, response.json)
        assert response.json["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("request_field", "name"),
    [
        ({"query": ["a", "b"]}, "query"),
        ({"query": "a=1"}, "query"),
        ({"headers": [["x", "1"]]}, "headers"),
        ({"rawQuery": 5}, "rawQuery"),
        ({"bodyBase64": "not base64!"}, "bodyBase64"),
        ({"bodyBase64": 12}, "bodyBase64"),
    ],
)
def test_malformed_test_run_requests_are_a_400(
    client: FlaskClient, hook_id: str, request_field: dict, name: str
) -> None:
    assert _put(client, hook_id, {"script": "null"}).status_code == 201
    for url in (f"/api/hooks/{hook_id}/test", "/api/scripts/test"):
        response = client.post(
            url, json={"script": "null", "request": request_field}, headers=ADMIN
        )
        assert response.status_code == 400, (url, response.json)
        assert name in response.json["error"]["message"]


STANDARD_24 = "whsec_" + base64.b64encode(b"k" * 24).decode()
STANDARD_16 = "whsec_" + base64.b64encode(b"k" * 16).decode()


@pytest.mark.parametrize(
    ("scheme", "weak", "strong"),
    [
        ("github", "x" * 31, "x" * 32),
        ("stripe", "whsec_" + "x" * 25, "whsec_" + "x" * 32),
        ("standard-webhooks", STANDARD_16, STANDARD_24),
    ],
)
def test_verify_needs_the_schemes_minimum_secret(
    client: FlaskClient, hook_id: str, scheme: str, weak: str, strong: str
) -> None:
    refused = _put(
        client, hook_id, {"script": "null", "verify": {"scheme": scheme, "secret": weak}}
    )
    assert refused.status_code == 422 and "verify.secret" in refused.json["error"]["message"]
    accepted = _put(
        client, hook_id, {"script": "null", "verify": {"scheme": scheme, "secret": strong}}
    )
    assert accepted.status_code == 201, accepted.json


def test_an_identical_put_does_not_confirm_a_guessed_secret(
    client: FlaskClient, hook_id: str
) -> None:
    definition = {"script": "null", "secrets": {"API_KEY": "right"}}
    assert _put(client, hook_id, definition).json["version"] == 1
    right = _put(client, hook_id, definition)
    wrong = _put(client, hook_id, {**definition, "secrets": {"API_KEY": "wrong"}})
    # Right or wrong, a PUT with secrets answers alike: a new version.
    assert right.status_code == wrong.status_code == 200
    assert (right.json["version"], wrong.json["version"]) == (2, 3)
    assert set(right.json) == set(wrong.json)
    verify = {"script": "null", "verify": {"scheme": "github", "secret": "g" * 32}}
    assert _put(client, hook_id, verify).json["version"] == 4
    assert _put(client, hook_id, verify).json["version"] == 5
    # Without secrets, an identical PUT still keeps the version (hook files).
    assert _put(client, hook_id, {"script": "null"}).json["version"] == 6
    assert _put(client, hook_id, {"script": "null"}).json["version"] == 6
