"""Schemathesis hooks for the contract run (loaded through
``SCHEMATHESIS_HOOKS=tests.contract.schemathesis_hooks``).

- Every request stays on loopback: a generated ``callbackUrl`` would make
  hooklet resolve (and later call) whatever host the generator invented, so
  it is pointed at a closed loopback port before the request goes out.
- What a state-changing operation needs (the seeded admin hook's draft and
  KV keys, the blocked key, the hooks the intake is sent to) is put back
  before its call when generated calls took it away (tests/contract/seeds.py).
- Every answer is recorded (operation, status) in ``HOOKLET_CONTRACT_LOG``,
  so the test can check that each state-changing operation was exercised.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlsplit

import schemathesis

from tests.contract.seeds import BLOCKED_KEY, HOOKS, ORDERED, Seeds

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_CLOSED_PORT_URL = "http://127.0.0.1:9/callback"  # discard: nothing listens


def _loopback_only(body: Any) -> None:
    if isinstance(body, dict):
        url = body.get("callbackUrl")
        if isinstance(url, str):
            try:
                host = urlsplit(url).hostname
            except ValueError:
                host = None
            if host not in _LOOPBACK:
                body["callbackUrl"] = _CLOSED_PORT_URL
        for value in body.values():
            _loopback_only(value)
    elif isinstance(body, list):
        for value in body:
            _loopback_only(value)


_KV_KEY_PATH = "/api/hooks/{hookId}/kv/{key}"
_DRAFT = "/api/hooks/{hookId}/draft"
# What uses a draft up or needs one to answer 2xx.
_DRAFT_SPENDERS = {("DELETE", _DRAFT), ("POST", _DRAFT + "/promote"), ("POST", _DRAFT + "/try")}
_RESUME = ("POST", "/api/hooks/{hookId}/keys/{key}/resume")
_ADMIN_HOOK = "contract-admin"
_ROUTED = {"/": "contract-root", "/{route}": "contract-route"}
# Hooks whose draft a generated DELETE threw away (and no PUT saved again):
# a GET of it after the DELETE must stay a 404 (use_after_free).
_drafts_deleted: set[str] = set()
_seeds: Seeds | None = None


def _seeded() -> Seeds | None:
    global _seeds
    base, token = os.environ.get("HOOKLET_CONTRACT_BASE"), os.environ.get("HOOKLET_CONTRACT_TOKEN")
    if _seeds is None and base and token:
        _seeds = Seeds(base, token)
    return _seeds


def _kv_key_to_delete(seeds: Seeds, hook: str, key: object) -> None:
    """Write the key a generated DELETE names, on the seeded admin hook: other
    generated calls delete and re-create that hook (and its KV) at any time, so
    a seeded key may be gone, and a DELETE that only ever meets 404s leaves
    the operation unexercised."""
    if hook != _ADMIN_HOOK or not isinstance(key, str) or not key:
        return
    seeds.hook(hook)
    seeds.http.put(f"{seeds.base}/api/hooks/{hook}/kv/{quote(key, safe='')}",
                   json={"value": "aGk"}, timeout=10)  # fmt: skip


def _in_stateful_phase(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and str(meta.phase.name) == "stateful"


def _put_back(seeds: Seeds, case: Any) -> None:
    """What the call needs, put back if a generated call took it away.

    The stateful phase links ``POST /api/hooks`` to every operation of the
    hook it made (links Schemathesis infers), and holds a 404 there to be
    the created resource missing (``ensure_resource_availability``): a
    hook it just made gets a draft before a call that needs one. Not after
    its draft was deleted: that 404 is the answer ``use_after_free`` wants."""
    op = (case.method.upper(), case.operation.path)
    params = case.path_parameters or {}
    hook = params.get("hookId") or params.get("hook")
    if op == ("DELETE", _KV_KEY_PATH):
        _kv_key_to_delete(seeds, hook, params.get("key"))
    elif op == _RESUME and (hook, params.get("key")) == (ORDERED, BLOCKED_KEY):
        seeds.blocked_key()
    elif op in _DRAFT_SPENDERS and hook == _ADMIN_HOOK:
        seeds.hook(hook)
        seeds.draft(hook)
    elif op == ("DELETE", "/api/hooks/{hookId}") and hook == _ADMIN_HOOK:
        seeds.hook(hook)
    elif _in_stateful_phase(case) and isinstance(hook, str) and hook not in HOOKS:
        if op in _DRAFT_SPENDERS or (op == ("GET", _DRAFT) and hook not in _drafts_deleted):
            seeds.draft(hook)
    elif case.operation.path.startswith("/h/{hook}") and hook in HOOKS:
        seeds.hook(hook)
    elif case.operation.path in _ROUTED:
        seeds.hook(_ROUTED[case.operation.path])


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    _loopback_only(case.body)
    seeds = _seeded()
    if seeds is not None:
        _put_back(seeds, case)


def _track_drafts(case: Any, response: Any) -> None:
    if not 200 <= response.status_code < 300:
        return
    op = (case.method.upper(), case.operation.path)
    hook = (case.path_parameters or {}).get("hookId")
    if op == ("DELETE", _DRAFT):
        _drafts_deleted.add(hook)
    elif op == ("PUT", _DRAFT):
        _drafts_deleted.discard(hook)
    elif op == ("POST", "/api/hooks"):
        try:
            _drafts_deleted.discard(response.json().get("id"))
        except ValueError:
            pass


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    _track_drafts(case, response)
    path = os.environ.get("HOOKLET_CONTRACT_LOG")
    if not path:
        return
    line = {
        "method": case.operation.method.upper(),
        "path": case.operation.path,
        "status": response.status_code,
        "url": response.request.url,
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


# A sync hook answers with its script's outcome: a script that throws is a
# 500 and one past its time limit a 504, as text (secutils' answers). Those
# are the hook's answers, documented as such; hooklet's own failures are
# JSON error bodies and still fail the run.
_INTAKE_PREFIXES = ("/h/", "/{route}")


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    path = case.operation.path
    is_intake = path == "/" or path.startswith(_INTAKE_PREFIXES)
    script_answer = response.status_code in (500, 504) and not response.headers.get(
        "content-type", [""]
    )[0].startswith("application/json")
    return not (is_intake and script_answer)
