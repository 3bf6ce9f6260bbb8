"""Schemathesis (a tool no one here wrote) runs against the real stack from
the document the web process serves, with the admin token: no 5xx for any
generated request, every answer documented (status, content type, headers,
schema), and every state-changing operation answered 2xx at least once.
Not by luck: what such an operation spends (the seeded draft, blocked key,
KV keys, hooks) is put back before its call (tests/contract/seeds.py), as
generated calls take it away in an order that depends on earlier answers.

Excluded, with the reason:
- Schemathesis' ``negative_data_rejection`` and ``positive_data_acceptance``:
  the admin API ignores what it does not read (unknown query parameters), and
  whether a generated script compiles decides a hook's 422; the document
  states the shape, the validator (workers/hook_validation.py) the rest.
- A sync hook's 500 and 504 as text are its script's answers (secutils'
  contract), not hooklet failing: tests/contract/schemathesis_hooks.py drops
  those failures for the intake only; hooklet's own JSON 500 still fails.
- The intake's bodies are arbitrary bytes (``*/*``): Schemathesis sends what
  it generates, and the scripts here ignore them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.seeds import BLOCKED_KEY, HOOKS, ORDERED, ORDERING_PROJECT, SCRIPT
from tests.support.stack import (
    ADMIN_TOKEN,
    BIN,
    ROOT,
    Api,
    RedisServer,
    Web,
    Worker,
    hooklet_env,
)

pytestmark = pytest.mark.stack

_CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "use_after_free",
        "ensure_resource_availability",
    ]
)
_STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Not held to a 2xx: Schemathesis 4.32 does not apply the ``routes``
# dictionary to the root template ``/{route}`` (it sends "0", "Inf", ...), so
# only a 404 comes back. The same view (routes.routed → intake.serve_hook)
# answers 2xx at ``/`` (the seeded root route) and every ``/h/{hook}``.
_NOT_REACHED = {"/{route}"}
# Seeded (tests/contract/seeds.py), so the intake and the job operations
# reach real hooks and jobs (random ids only ever find 404s). The admin
# routes get their own id, so a generated PUT or DELETE never changes the
# hooks the intake is sent to.
_NOT_SENT = ("contract-admin", ORDERED)  # not in the intake's dictionary


@pytest.fixture(scope="module")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    """A stack of its own: generated hooks (routes among them) must not
    reach the session's stack, whose tests expect their own answers."""
    workdir = tmp_path_factory.mktemp("contract")
    redis_server = RedisServer(workdir).start()
    env = hooklet_env(redis_server.url)
    started = [redis_server]
    try:
        for process in (
            Worker(env, workdir),
            Worker(env, workdir, name="callbacks", queues="callbacks", pool="threads"),
            Web(env, workdir),
        ):
            started.append(process.start())
        yield Api(started[-1].url), workdir
    finally:
        for process in reversed(started):
            process.stop()


_KV_KEYS = [f"seeded-{n}" for n in range(20)]
_SEEDED_TOKENS = 20


def _seed(api: Api) -> tuple[list[str], list[str]]:
    made = api.http.post(f"{api.base}/api/projects", json={"id": ORDERING_PROJECT},
                         headers=api.admin, timeout=10)  # fmt: skip
    assert made.status_code == 201, made.text
    for hook_id, definition in HOOKS.items():
        api.put_hook(hook_id, **definition)
    # The admin hook gets a second version (a rollback has one to bring
    # back) and a draft (to promote); links make more (putDraft, promote).
    api.put_hook("contract-admin", **HOOKS["contract-admin"], enabled=True, mode="async",
                 response={"statusCode": 200})  # fmt: skip
    draft = api.http.put(f"{api.base}/api/hooks/contract-admin/draft",
                         json={"script": SCRIPT}, headers=api.admin, timeout=10)  # fmt: skip
    assert draft.status_code == 201, draft.text
    # KV keys for the key operations to find (a DELETE spends one: several).
    for key in _KV_KEYS:
        stored = api.http.put(f"{api.base}/api/hooks/contract-admin/kv/{key}",
                              json={"value": "aGk"}, headers=api.admin, timeout=10)  # fmt: skip
        assert stored.status_code == 200, stored.text
    jobs = [api.run("contract-async", json={"n": n})["jobId"] for n in range(2)]
    blocked = [api.send(ORDERED, params={"k": BLOCKED_KEY}).json()["jobId"] for _ in "ab"]
    assert api.wait_job(blocked[0])["status"] == "failed"  # blocks the key
    # Tokens to revoke (links from createToken make more; a DELETE spends one).
    tokens = [
        api.http.post(f"{api.base}/api/tokens", headers=api.admin, timeout=10,
                      json={"project": "default", "name": f"seeded-{n}", "scopes": ["hooks:read"]},
                      ).json()["id"]
        for n in range(_SEEDED_TOKENS)
    ]  # fmt: skip
    return jobs, tokens


def _config(path: Path, jobs: list[str], tokens: list[str]) -> Path:
    hooks = [h for h in HOOKS if h not in _NOT_SENT]
    path.write_text(
        "\n".join(
            [
                f"[dictionaries.hooks]\nvalues = {json.dumps(hooks)}",
                '[dictionaries.admin-hooks]\nvalues = ["contract-admin"]',
                f"[dictionaries.jobs]\nvalues = {json.dumps(jobs)}",
                f"[dictionaries.kv-keys]\nvalues = {json.dumps(_KV_KEYS)}",
                f"[dictionaries.tokens]\nvalues = {json.dumps(tokens)}",
                f'[dictionaries.projects]\nvalues = ["default", "{ORDERING_PROJECT}"]',
                '[dictionaries.routes]\nvalues = ["contract-route", "contract-route-x"]',
                "[parameters]",
                '"path.hook" = { dictionary = "hooks", probability = 0.8 }',
                '"path.hookId" = { dictionary = "admin-hooks", probability = 0.5 }',
                '"path.jobId" = { dictionary = "jobs", probability = 0.8 }',
                '"path.route" = { dictionary = "routes", probability = 0.8 }',
                '"path.key" = { dictionary = "kv-keys", probability = 0.8 }',
                '"path.tokenId" = { dictionary = "tokens", probability = 0.8 }',
                # The ordering routes: the seeded blocked key of contract-ordered.
                '[[operations]]\ninclude-operation-id = "resumeKey"',
                f'parameters = {{ "path.hookId" = "{ORDERED}", "path.key" = "{BLOCKED_KEY}" }}',
                # A project that exists, often (random ones are 404s).
                '[[operations]]\ninclude-operation-id = "createToken"',
                'parameters = { "body.project" = { dictionary = "projects", probability = 0.5 } }',
                '[[operations]]\ninclude-operation-id = "listBlockedKeys"',
                f'parameters = {{ "path.hookId" = "{ORDERED}" }}',
            ]
        )
        + "\n"
    )
    return path


# Schemathesis itself may take up to 300 s (its subprocess timeout below);
# on a loaded machine its ~65 operations run past the default 120 s.
@pytest.mark.timeout(400)
def test_schemathesis_finds_nothing(contract_stack: tuple[Api, Path]) -> None:
    api, workdir = contract_stack
    config = _config(workdir / "schemathesis.toml", *_seed(api))
    calls = workdir / "calls.ndjson"
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks",
        "HOOKLET_CONTRACT_LOG": str(calls),
        "HOOKLET_CONTRACT_BASE": api.base,
        "HOOKLET_CONTRACT_TOKEN": ADMIN_TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [
            str(BIN / "st"),
            "--config-file",
            str(config),
            "run",
            f"{api.base}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--checks",
            _CHECKS,
            "--max-examples",
            "20",
            "--seed",
            "20260",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = run.stdout[-20000:] + run.stderr[-5000:]
    assert run.returncode == 0, report

    answered: dict[tuple[str, str], set[int]] = {}
    for line in calls.read_text().splitlines():
        call = json.loads(line)
        answered.setdefault((call["method"], call["path"]), set()).add(call["status"])
    from app.openapi import document

    state_changing = {
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in item
        if method.upper() in _STATE_CHANGING and path not in _NOT_REACHED
    }
    never_2xx = sorted(
        op for op in state_changing if not any(200 <= s < 300 for s in answered.get(op, ()))
    )
    assert not never_2xx, f"state-changing operations never answered 2xx: {never_2xx}\n{report}"
