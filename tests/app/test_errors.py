"""Bad input gets a clear JSON error with the right status, and nothing is queued."""

from __future__ import annotations

import contextlib
import socket

import pytest
import requests

from tests.support.stack import Api


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def test_unknown_hook_is_404(api: Api) -> None:
    assert_error(api.send("no-such-hook"), 404, "hook_not_found")


def test_disabled_hook_is_404(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null", enabled=False)
    assert_error(api.send(hook_id), 404, "hook_not_found")


def test_method_not_allowed_is_405_with_allow(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null", methods=["post", "PUT"])
    response = api.send(hook_id, method="GET")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST, PUT"


def test_body_over_the_limit_is_413(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, script="null")
    # A fresh connection: the server closes it after refusing the body.
    response = requests.post(f"{api.base}/h/{hook_id}", data=b"x" * (1024 * 1024 + 1), timeout=10)
    assert_error(response, 413, "payload_too_large")


def test_chunked_body_over_the_limit_is_413(api: Api, hook_id: str) -> None:
    # No Content-Length: the server stops reading at the limit and answers 413
    # while the client is still sending, so read the answer off a raw socket.
    api.put_hook(hook_id, script="null")
    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /h/{hook_id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        with contextlib.suppress(OSError):
            for _ in range(20):  # 1.25 MiB
                sock.sendall(chunk)
            sock.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dGVzdA=="])
def test_admin_without_the_right_token_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(f"{api.base}/api/hooks", headers=headers, timeout=5)
    assert_error(response, 401, "unauthorized")


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
def test_invalid_hook_is_422_naming_the_field(api: Api, hook_id: str, definition, field) -> None:
    response = api.http.put(
        f"{api.base}/api/hooks/{hook_id}", json=definition, headers=api.admin, timeout=10
    )
    error = assert_error(response, 422, "invalid_hook")
    assert error["message"].startswith(field + ":"), error


def test_invalid_hook_id_is_422(api: Api) -> None:
    response = api.http.put(f"{api.base}/api/hooks/Not_A_Slug!", json={}, headers=api.admin)
    assert_error(response, 422, "invalid_hook")


def test_syntax_error_names_the_line(api: Api, hook_id: str) -> None:
    response = api.http.put(
        f"{api.base}/api/hooks/{hook_id}",
        json={"script": "let a = 1;\nlet b = ;"},
        headers=api.admin,
    )
    assert "line 2" in assert_error(response, 422, "invalid_hook")["message"]


def test_non_json_admin_body_is_400(api: Api, hook_id: str) -> None:
    response = api.http.put(
        f"{api.base}/api/hooks/{hook_id}",
        data="{oops",
        headers={**api.admin, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_request")


def test_unknown_job_is_404(api: Api) -> None:
    assert_error(api.http.get(f"{api.base}/jobs/{'0' * 32}"), 404, "job_not_found")
    assert_error(api.http.get(f"{api.base}/jobs/not-an-id"), 404, "job_not_found")


def test_unknown_route_is_json_404(api: Api) -> None:
    assert_error(api.http.get(f"{api.base}/nowhere"), 404, "not_found")
