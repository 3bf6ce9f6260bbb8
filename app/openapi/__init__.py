"""The API contract: ``GET /api/openapi.json`` serves ``openapi.yaml``.

The document is kept by hand next to the code, not derived from it: the
routes take raw JSON and validate it in ``workers/hook_validation.py``, so
there are no schema classes a generator could read, and a hand-kept
document says what callers may rely on (error codes, ``Retry-After``, the
intake's sync answers) rather than what a decorator can see.
``tests/contract`` holds it against the Flask routes and, with Schemathesis,
against the running stack.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import orjson
from flask import Blueprint, Response

__all__ = ["bp", "document", "document_json"]

bp = Blueprint("openapi", __name__)


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document, read once per process (YAML anchors expanded)."""
    import yaml  # only here: a web process reads the document once, if ever

    text = files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def document_json() -> bytes:
    return orjson.dumps(document())


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    """No token: the contract is public, like the routes it describes."""
    return Response(document_json(), mimetype="application/json")
