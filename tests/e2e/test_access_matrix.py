"""Every ``/api`` route x {no token, another project's token, a token
without the route's scope, the right token}, over real HTTP on the real
stack: 401, 404 (or the other project's things left out of a list), 403
naming the scope, 2xx. The routes come from the Flask url_map, so a route
added without a case here fails the test."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import pytest
import requests

from app import create_app
from app.access import ADMIN, needed_scope
from stackkit.api import Api
from stackkit.env import ADMIN_TOKEN
from workers.settings import load_settings
from workers.store.access.tokens import SCOPES

pytestmark = pytest.mark.stack


@dataclass
class World:
    """Two projects, each with a hook, a finished job, a KV key and a token
    holding every scope; A's things are what every case asks for."""

    api: Api
    a: str = field(default_factory=lambda: f"pa-{uuid.uuid4().hex[:8]}")
    b: str = field(default_factory=lambda: f"pb-{uuid.uuid4().hex[:8]}")
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def call(self, method: str, path: str, token: str | None, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.api.http.request(
            method, self.api.base + path, headers=headers, timeout=60, **kw
        )

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        response = self.api.http.request(
            method, self.api.base + path, headers=self.api.admin, timeout=60, **kw
        )
        assert response.status_code < 300, (method, path, response.text)
        return response.json() if response.content else None

    def mint(self, project: str, scopes: list[str]) -> str:
        body = {"project": project, "name": "t", "scopes": scopes}
        return self.admin("POST", "/api/tokens", json=body)["token"]

    def fresh_hook(self, project: str) -> str:
        hook_id = f"h-{uuid.uuid4().hex[:10]}"
        definition = {"project": project, "script": "({ body: 'ok' })",
                      "callbackUrl": "http://127.0.0.1:9/cb"}  # fmt: skip
        self.admin("PUT", f"/api/hooks/{hook_id}", json=definition)
        self.admin("PUT", f"/api/hooks/{hook_id}/kv/k1", json={"value": "aGk"})
        return hook_id

    def fresh_job(self, hook_id: str) -> str:
        return self.api.run(hook_id, json={"n": 1})["jobId"]

    def block_key(self, hook_id: str, key: str) -> None:
        """The hook orders its events by ``?k=`` and its failure blocks the key:
        the keys routes have a blocked key to list and resume."""
        ordered = {"project": self.a, "script": "throw new Error('blocks')",
                   "ordering": {"key": "query:k", "onFailure": "block"}}  # fmt: skip
        self.admin("PUT", f"/api/hooks/{hook_id}", json=ordered)
        job_id = self.api.send(hook_id, params={"k": key}).json()["jobId"]
        assert self.api.wait_job(job_id)["status"] == "failed"


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    w = World(api)
    for project in (w.a, w.b):
        w.admin("POST", "/api/projects", json={"id": project})
    w.tokens = {"a": {}, "b": {}}
    return w


def _case(w: World, method: str, rule: str) -> tuple[str, str, dict[str, Any], Callable | None]:
    """A fresh hook, path and body of project A for one route (a change gets
    its own hook, job, key or token, so the right token's call finds it)."""
    hook = w.fresh_hook(w.a)
    if (
        rule.endswith(("/draft", "/promote", "/try", "/shadow")) and method != "PUT"
    ):  # a draft to use
        w.admin("PUT", f"/api/hooks/{hook}/draft", json={"script": "3"})
    if rule.endswith("/rollback"):  # an earlier version to bring back
        w.admin("PUT", f"/api/hooks/{hook}", json={"project": w.a, "script": "4"})
    if "/keys" in rule:  # /api/keys, a hook's keys and their resume
        w.block_key(hook, _BLOCKED_KEY)
    needs_job = "<job_id>" in rule
    job = w.fresh_job(hook) if needs_job else ""
    token_id = ""
    if "<token_id>" in rule:
        body = {"project": w.a, "name": "victim", "scopes": ["hooks:read"]}
        token_id = w.admin("POST", "/api/tokens", json=body)["id"]
    project = w.a
    if "<project_id>" in rule:
        project = f"pc-{uuid.uuid4().hex[:8]}"
        w.admin("POST", "/api/projects", json={"id": project})
    path = (
        rule.replace("<hook_id>", hook)
        .replace("<job_id>", job)
        .replace("<path:key>", "k1")
        .replace("<order_key:key>", _BLOCKED_KEY)
        .replace("<token_id>", token_id)
        .replace("<project_id>", project)
    )
    kw: dict[str, Any] = {}
    bodies = {
        ("POST", "/api/hooks"): {"id": f"n-{uuid.uuid4().hex[:8]}", "script": "1"},
        ("PUT", "/api/hooks/<hook_id>"): {"script": "2"},
        ("PATCH", "/api/hooks/<hook_id>"): {"script": "5"},
        ("PUT", "/api/hooks/<hook_id>/draft"): {"script": "6"},
        ("POST", "/api/hooks/<hook_id>/draft/try"): {"filter": {}, "limit": 1},
        ("POST", "/api/hooks/<hook_id>/test"): {"request": {}},
        ("POST", "/api/scripts/test"): {"script": "1"},
        ("POST", "/api/jobs/replay"): {"ids": [job]},
        ("POST", "/api/jobs/redeliver"): {"ids": [job]},
        ("PUT", "/api/hooks/<hook_id>/kv/<path:key>"): {"value": "aGk"},
        ("POST", "/api/projects"): {"id": f"pn-{uuid.uuid4().hex[:8]}"},
        ("PATCH", "/api/projects/<project_id>"): {"name": "renamed"},
        ("POST", "/api/tokens"): {"project": w.a, "name": "n", "scopes": ["hooks:read"]},
    }
    if (method, rule) in bodies:
        kw["json"] = bodies[(method, rule)]
    params = {
        "/api/stats": {"hook": hook},
        "/api/jobs": {"hook": hook},
        "/api/audit": {"project": w.a},
        "/api/tokens": {"project": w.a} if method == "GET" else {},
        "/api/keys": {"blocked": "true"},
        "/api/hooks/<hook_id>/keys": {"blocked": "true"},
    }
    if rule in params and params[rule]:
        kw["params"] = params[rule]
    # What must never show in B's answer to a list: A's things.
    secret = {"/api/hooks": hook, "/api/jobs": job or hook, "/api/stats/hooks": hook,
              "/api/keys": hook}.get(rule)  # fmt: skip
    return hook, path, kw, (lambda text: secret not in text) if secret else None


def _routes() -> list[tuple[str, str, str]]:
    with patch("app.require_redis"):  # the routes only: no Redis at collection
        app = create_app(load_settings())
    found = []
    with app.app_context():
        rules = [(r, needed_scope(r.endpoint)) for r in app.url_map.iter_rules()]
    for rule, scope in rules:
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, scope))
    return sorted(found)


ROUTES = _routes()
_BLOCKED_KEY = "k/1"  # a slash, as every key of the 'path' source has
# Routes on a collection answer B's token 2xx with B's own things only.
_LISTS = {"/api/hooks", "/api/jobs", "/api/stats/hooks", "/api/keys"}
# What the right token's answer must show (a 2xx that says nothing proves little).
_SHOWN = {
    ("GET", "/api/keys"): lambda body, hook: {"hookId": hook, "blockedKeys": 1} in body["hooks"],
    ("GET", "/api/hooks/<hook_id>/keys"): lambda body, hook: (
        [k["key"] for k in body["keys"]] == [_BLOCKED_KEY]
    ),
    ("POST", "/api/hooks/<hook_id>/keys/<order_key:key>/resume"): lambda body, hook: (
        (body["key"], body["skipped"], bool(body.get("rerunJobId"))) == (_BLOCKED_KEY, False, True)
    ),
    ("GET", "/api/hooks/<hook_id>/draft/shadow"): lambda body, hook: (
        body["draftVersion"] and body["counts"] is not None
    ),
}
# B's token names nothing of A's here: it creates or tests its own.
_OWN = {("POST", "/api/hooks"), ("POST", "/api/scripts/test")}
_BULK = {("POST", "/api/jobs/replay"), ("POST", "/api/jobs/redeliver")}


@pytest.mark.parametrize(
    ("method", "rule", "scope"), ROUTES, ids=[f"{m} {r}" for m, r, _ in ROUTES]
)
def test_route(world: World, method: str, rule: str, scope: str) -> None:
    w = world
    all_a = w.mint(w.a, list(SCOPES))
    all_b = w.mint(w.b, list(SCOPES))
    hook, path, kw, hidden = _case(w, method, rule)

    no_token = w.call(method, path, None, **kw)
    assert no_token.status_code == 401, no_token.text

    lacking = [s for s in SCOPES if s != scope]
    missing = w.call(method, path, w.mint(w.a, lacking), **kw)
    assert missing.status_code == 403, missing.text
    if scope != ADMIN:
        assert scope in missing.json()["error"]["message"]

    if (method, rule) not in _OWN:
        other = w.call(method, path, all_b, **kw)
        if scope == ADMIN:
            assert other.status_code == 403, other.text
        elif rule in _LISTS:
            assert other.status_code == 200, other.text
            assert hidden is not None and hidden(other.text), other.text
        elif (method, rule) in _BULK:
            assert other.status_code == 200, other.text
            body = other.json()
            assert [f["error"]["code"] for f in body["failed"]] == ["job_not_found"]
            assert not any(body[k] for k in body if k not in ("failed", "nextCursor", "max"))
        else:
            assert other.status_code == 404, (other.status_code, other.text)

    token = ADMIN_TOKEN if scope == ADMIN else all_a
    right = w.call(method, path, token, **kw)
    assert 200 <= right.status_code < 300, (right.status_code, right.text)
    if (method, rule) in _SHOWN:
        assert _SHOWN[(method, rule)](right.json(), hook), right.text


def test_every_api_route_has_a_case() -> None:
    """A route added later gets a case, or this fails (and so does its row)."""
    assert len(ROUTES) >= 30
    assert {"/api/projects", "/api/tokens", "/api/audit", "/api/hooks/<hook_id>/kv"} <= {
        r for _, r, _ in ROUTES
    }
