"""The OpenAPI document against the code: it is valid OpenAPI 3.1, served
at ``/api/openapi.json`` without a token, and it names every route of the
web app with the same methods, and no route the app does not have."""

from __future__ import annotations

import re

import schemathesis
from flask import Flask
from flask.testing import FlaskClient

from app.openapi import document

# Methods Flask adds to every rule by itself; the intake takes HEAD and
# OPTIONS like any other method, but they are not documented operations.
_IMPLICIT = {"HEAD", "OPTIONS"}
_OPERATIONS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _shape(path: str) -> str:
    """A path with its parameters blanked: Flask's ``<path:p>`` and
    OpenAPI's ``{p}`` both become ``{}``."""
    return re.sub(r"<(?:[^:>]+:)?[^>]+>|\{[^}]+\}", "{}", path)


def _app_routes(app: Flask) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = set(rule.methods or ()) - _IMPLICIT
        routes.setdefault(_shape(rule.rule), set()).update(methods)
    return routes


def _documented_routes() -> dict[str, set[str]]:
    return {
        _shape(path): {m.upper() for m in item if m in _OPERATIONS} - _IMPLICIT
        for path, item in document()["paths"].items()
    }


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(doc).validate()  # the 3.1 meta-schema


def test_every_route_is_documented_with_its_methods(flask_app: Flask) -> None:
    app_routes, documented = _app_routes(flask_app), _documented_routes()
    missing = {p: m for p, m in app_routes.items() if documented.get(p) != m}
    assert not missing, f"routes the document lacks or gives other methods: {missing}"


def test_every_documented_path_exists(flask_app: Flask) -> None:
    app_routes = _app_routes(flask_app)
    extra = sorted(set(_documented_routes()) - set(app_routes))
    assert not extra, f"documented paths the app does not serve: {extra}"


def test_operation_ids_are_unique_and_present() -> None:
    ids = [
        op["operationId"]
        for item in document()["paths"].values()
        for method, op in item.items()
        if method in _OPERATIONS
    ]
    assert all(ids) and len(ids) == len(set(ids))


def test_error_responses_use_the_error_schema() -> None:
    """Every 4xx/5xx that hooklet answers itself is ``{"error": {...}}``
    (the sync intake's script answers are the exception: text)."""
    doc = document()
    responses = doc["components"]["responses"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in _OPERATIONS:
                continue
            for status, response in op["responses"].items():
                if status[0] not in "45" or path.startswith(("/h/", "/{")) or path == "/":
                    continue
                if "$ref" in response:
                    response = responses[response["$ref"].rsplit("/", 1)[1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema.get("$ref") == "#/components/schemas/Error" or path == "/readyz", (
                    path,
                    method,
                    status,
                )


def test_served_as_json_without_a_token(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == document()
