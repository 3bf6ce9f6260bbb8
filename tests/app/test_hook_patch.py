"""``PATCH /api/hooks/<id>``: only the fields sent change (JSON Merge Patch),
through Flask's test client on real Redis."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.support.fast import assert_error, put_hook, send

Admin = dict[str, str]
_SECRET = "s3cret-" + "x" * 32


def _patch(client: FlaskClient, admin: Admin, hook_id: str, body: object):
    return client.patch(f"/api/hooks/{hook_id}", json=body, headers=admin)


def test_only_the_fields_sent_change(
    client: FlaskClient, admin: Admin, hook_id: str, run_job: Callable[[str], dict]
) -> None:
    put_hook(
        client, admin, hook_id, script="({ body: context.secrets })", mode="async",
        limits={"timeoutMs": 5000}, response={"headers": {"x-a": "1"}},
        secrets={"one": "1", "two": "2"}, methods=["POST"],
        verify={"scheme": "github", "secret": _SECRET},
    )  # fmt: skip
    patched = _patch(client, admin, hook_id, {"limits": {"heapMb": 20}, "methods": ["PUT"]})
    assert patched.status_code == 200, patched.text
    hook = patched.json
    assert hook["version"] == 2 and hook["methods"] == ["PUT"]
    assert hook["limits"]["timeoutMs"] == 5000 and hook["limits"]["heapMb"] == 20
    assert hook["script"] == "({ body: context.secrets })"
    assert hook["response"] == {"headers": {"x-a": "1"}}
    assert hook["secretNames"] == ["one", "two"] and hook["verify"]["scheme"] == "github"

    dropped = _patch(client, admin, hook_id, {"secrets": {"one": None}, "verify": None,
                                              "methods": None})  # fmt: skip
    assert dropped.json["secretNames"] == ["two"] and dropped.json["verify"] is None
    assert dropped.json["methods"] == [] and dropped.json["version"] == 3
    job = run_job(send(client, hook_id).json["jobId"])
    assert json.loads(job["result"]["body"]) == {"two": "2"}


def test_a_patch_that_changes_nothing_keeps_the_version(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="1", secrets={"k": "v"})
    same = _patch(client, admin, hook_id, {"script": "1", "version": 99})
    assert same.status_code == 200 and same.json["version"] == 1
    assert _patch(client, admin, hook_id, {}).json["version"] == 1
    # Secrets sent always make a version (the version must not confirm a guess).
    assert _patch(client, admin, hook_id, {"secrets": {"k": "v"}}).json["version"] == 2


def test_an_invalid_patch_changes_nothing(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    put_hook(client, admin, hook_id, script="1", mode="sync")
    for body in (
        {"mode": "bogus"},
        {"limits": {"timeoutMs": -1}},
        {"script": "(("},
        {"nope": 1},
        {"id": "other"},
        {"project": "elsewhere"},
        [1, 2],
    ):
        assert_error(_patch(client, admin, hook_id, body), 422, "invalid_hook")
    not_json = client.patch(f"/api/hooks/{hook_id}", data="mode=async", headers=admin)
    assert_error(not_json, 400, "invalid_request")
    hook = client.get(f"/api/hooks/{hook_id}", headers=admin).json
    assert hook["version"] == 1 and hook["mode"] == "sync"


def test_patch_of_an_unknown_hook_is_404(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    assert_error(_patch(client, admin, hook_id, {"mode": "sync"}), 404, "hook_not_found")
    assert client.get(f"/api/hooks/{hook_id}", headers=admin).status_code == 404


def test_patch_is_audited_and_needs_hooks_write(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    since = time.time() - 1  # the audit reads oldest first: skip other tests' entries
    put_hook(client, admin, hook_id, script="1")
    body = {"project": "default", "name": "ro", "scopes": ["hooks:read"]}
    reader = client.post("/api/tokens", json=body, headers=admin).json["token"]
    as_reader = {"Authorization": f"Bearer {reader}"}
    refused = _patch(client, as_reader, hook_id, {"mode": "sync"})
    assert_error(refused, 403, "forbidden")
    assert "hooks:write" in refused.json["error"]["message"]
    for path in ("draft", "draft/promote", "rollback"):
        method = client.put if path == "draft" else client.post
        assert method(f"/api/hooks/{hook_id}/{path}", json={}, headers=as_reader).status_code == 403
    assert_error(client.get(f"/api/hooks/{hook_id}/draft", headers=as_reader), 404,
                 "draft_not_found")  # fmt: skip

    _patch(client, admin, hook_id, {"mode": "sync", "secrets": {"pw": "hunter2"}})
    query = {"project": "default", "since": since}
    entries = client.get("/api/audit", query_string=query, headers=admin).json
    mine = [(e["action"], e["versionBefore"], e["versionAfter"], e["detail"])
            for e in entries["entries"] if e["object"] == hook_id]  # fmt: skip
    assert ("hook.update", 1, 2, None) in mine
    assert ("secrets.set", None, 2, {"names": ["pw"]}) in mine
