"""Helpers for the fast layer: calls through Flask's test client (the
``client`` and ``admin`` fixtures in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def put_hook(client: FlaskClient, admin: dict[str, str], hook_id: str, **definition: Any) -> dict:
    """``PUT /api/hooks/<id>``, which must succeed; returns the stored hook."""
    response = client.put(f"/api/hooks/{hook_id}", json=definition, headers=admin)
    assert response.status_code in (200, 201), response.text
    return response.json


def send(client: FlaskClient, hook_id: str, path: str = "", **kwargs: Any) -> TestResponse:
    """A request to the intake, ``POST`` unless ``method`` says otherwise."""
    kwargs.setdefault("method", "POST")
    return client.open(f"/h/{hook_id}{path}", **kwargs)


def history(client: FlaskClient, admin: dict[str, str], hook_id: str) -> list[dict]:
    response = client.get(f"/api/hooks/{hook_id}/jobs", headers=admin)
    assert response.status_code == 200, response.text
    return response.json["jobs"]


def assert_error(response: TestResponse, status: int, code: str) -> dict:
    """The response is hooklet's JSON error with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json["error"]
    assert error["code"] == code and error["message"]
    return error
