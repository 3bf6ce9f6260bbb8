"""Bad input gets a clear JSON error with the right status, and nothing is queued."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.fast import assert_error, put_hook, send

Admin = dict[str, str]


def test_unknown_hook_is_404(client: FlaskClient) -> None:
    assert_error(send(client, "no-such-hook"), 404, "hook_not_found")


def test_disabled_hook_is_404(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    put_hook(client, admin, hook_id, script="null", enabled=False)
    assert_error(send(client, hook_id), 404, "hook_not_found")


def test_method_not_allowed_is_405_with_allow(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="null", methods=["post", "PUT"])
    response = send(client, hook_id, method="GET")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST, PUT"


def test_body_over_the_limit_is_413(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    # A chunked body (no Content-Length) needs the real server: tests/e2e/test_web_server.py.
    put_hook(client, admin, hook_id, script="null")
    assert_error(send(client, hook_id, data=b"x" * (1024 * 1024 + 1)), 413, "payload_too_large")


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dGVzdA=="])
def test_admin_without_the_right_token_is_401(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/hooks", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hooklet"'


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"script": "const = ;"}, "script"),
        ({"script": 42}, "script"),
        ({"mode": "sometimes"}, "mode"),
        ({"methods": ["FETCH"]}, "methods"),
        ({"limits": {"timeoutMs": 10_000_000}}, "limits.timeoutMs"),
        ({"limits": {"heapMb": 0}}, "limits.heapMb"),
        ({"limits": {"cpu": 1}}, "limits"),
        ({"response": {"statusCode": 1000}}, "response.statusCode"),
        ({"callbackUrl": "ftp://example.com"}, "callbackUrl"),
        ({"colour": "blue"}, "body"),
    ],
)
def test_invalid_hook_is_422_naming_the_field(
    client: FlaskClient, admin: Admin, hook_id: str, definition, field
) -> None:
    # Every field's own message is checked in tests/workers/test_hook_validation.py.
    response = client.put(f"/api/hooks/{hook_id}", json=definition, headers=admin)
    error = assert_error(response, 422, "invalid_hook")
    assert error["message"].startswith(field + ":"), error


def test_invalid_hook_id_is_422(client: FlaskClient, admin: Admin) -> None:
    response = client.put("/api/hooks/Not_A_Slug!", json={}, headers=admin)
    assert_error(response, 422, "invalid_hook")


def test_syntax_error_names_the_line(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    response = client.put(
        f"/api/hooks/{hook_id}", json={"script": "let a = 1;\nlet b = ;"}, headers=admin
    )
    assert "line 2" in assert_error(response, 422, "invalid_hook")["message"]


def test_non_json_admin_body_is_400(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    response = client.put(
        f"/api/hooks/{hook_id}",
        data="{oops",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_request")


def test_a_test_run_validates_the_script(client: FlaskClient, admin: Admin) -> None:
    response = client.post("/api/scripts/test", json={"script": "let = ;"}, headers=admin)
    assert response.status_code == 422 and "script" in response.json["error"]["message"]


def test_unknown_job_is_404(client: FlaskClient) -> None:
    assert_error(client.get(f"/jobs/{'0' * 32}"), 404, "job_not_found")
    assert_error(client.get("/jobs/not-an-id"), 404, "job_not_found")


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    assert_error(client.get("/nowhere"), 404, "not_found")
