"""Schemathesis hooks for the contract run (loaded through
``SCHEMATHESIS_HOOKS=tests.contract.schemathesis_hooks``).

- Every request stays on loopback: a generated ``callbackUrl`` would make
  hooklet resolve (and later call) whatever host the generator invented, so
  it is pointed at a closed loopback port before the request goes out.
- Every answer is recorded (operation, status) in ``HOOKLET_CONTRACT_LOG``,
  so the test can check that each state-changing operation was exercised.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import schemathesis

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


def _kv_key_to_delete(case: Any) -> None:
    """Write the key a generated DELETE names, on the seeded admin hook: other
    generated calls delete and re-create that hook (and its KV) at any time, so
    a seeded key may be gone, and a DELETE that only ever meets 404s leaves
    the operation unexercised."""
    params = case.path_parameters or {}
    hook, key = params.get("hookId"), params.get("key")
    base, token = os.environ.get("HOOKLET_CONTRACT_BASE"), os.environ.get("HOOKLET_CONTRACT_TOKEN")
    if hook != "contract-admin" or not isinstance(key, str) or not key or not base:
        return
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/hooks/{hook}"
    if requests.get(url, headers=auth, timeout=10).status_code == 404:
        requests.put(url, json={"script": "1"}, headers=auth, timeout=10)
    requests.put(f"{url}/kv/{quote(key, safe='')}", json={"value": "aGk"}, headers=auth, timeout=10)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    _loopback_only(case.body)
    if case.method.upper() == "DELETE" and case.operation.path == _KV_KEY_PATH:
        _kv_key_to_delete(case)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
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
