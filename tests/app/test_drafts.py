"""Drafts, promote and rollback through Flask's test client, real Redis and
the worker's executor in this process (its warm isolate pool included)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import redis
from flask.testing import FlaskClient

from tests.support.fast import assert_error, put_hook, send
from workers.settings import Settings
from workers.store import keys

Admin = dict[str, str]
Run = Callable[[str], dict]


def _script(answer: str) -> str:
    # A global counts the runs an isolate has served: a warm isolate keeps it.
    return f"(globalThis.n = (globalThis.n || 0) + 1, {{ body: {{ v: '{answer}', n }} }})"


def _body(job: dict) -> object:
    """The JSON body a job's script answered with."""
    return json.loads(job["result"]["body"])


def _draft(client: FlaskClient, admin: Admin, hook_id: str, **definition) -> dict:
    response = client.put(f"/api/hooks/{hook_id}/draft", json=definition, headers=admin)
    assert response.status_code in (200, 201), response.text
    return response.json


def _post(client: FlaskClient, admin: Admin, path: str, body: dict | None = None):
    return client.post(path, json=body, headers=admin) if body else client.post(path, headers=admin)


def test_a_draft_is_saved_but_not_served(
    client: FlaskClient, admin: Admin, run_job: Run, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script=_script("live"))
    url = f"/api/hooks/{hook_id}/draft"
    assert_error(client.get(url, headers=admin), 404, "draft_not_found")
    saved = client.put(url, json={"script": _script("draft")}, headers=admin)
    assert saved.status_code == 201, saved.text
    assert saved.json["script"] == _script("draft")
    assert saved.json["baseVersion"] == saved.json["liveVersion"] == 1
    assert client.put(url, json={"script": _script("draft")}, headers=admin).status_code == 200

    shown = client.get(url, headers=admin).json
    assert shown["script"] == _script("draft") and shown["etag"]
    hook = client.get(f"/api/hooks/{hook_id}", headers=admin).json
    assert hook["version"] == 1 and hook["script"] == _script("live")
    job = run_job(send(client, hook_id).json["jobId"])
    assert _body(job)["v"] == "live" and job["scriptVersion"] == 1


def test_promote_switches_the_version_even_on_a_warm_isolate(
    client: FlaskClient, admin: Admin, run_job: Run, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script=_script("old"))
    warm = [_body(run_job(send(client, hook_id).json["jobId"])) for _ in range(2)]
    assert warm == [{"v": "old", "n": 1}, {"v": "old", "n": 2}]  # one warm isolate
    accepted_before = send(client, hook_id).json["jobId"]
    _draft(client, admin, hook_id, script=_script("new"))

    promoted = _post(client, admin, f"/api/hooks/{hook_id}/draft/promote")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json["version"] == 2 and promoted.json["script"] == _script("new")
    accepted_after = send(client, hook_id).json["jobId"]

    before = run_job(accepted_before)
    assert before["scriptVersion"] == 1 and _body(before) == {"v": "old", "n": 3}
    after = run_job(accepted_after)
    assert after["scriptVersion"] == 2 and _body(after) == {"v": "new", "n": 1}
    assert_error(client.get(f"/api/hooks/{hook_id}/draft", headers=admin), 404, "draft_not_found")
    again = _post(client, admin, f"/api/hooks/{hook_id}/draft/promote")
    assert_error(again, 404, "draft_not_found")


def test_promote_names_the_draft_it_means(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    put_hook(client, admin, hook_id, script="1")
    tried = _draft(client, admin, hook_id, script="2")["etag"]
    latest = _draft(client, admin, hook_id, script="3")["etag"]
    assert tried != latest
    path = f"/api/hooks/{hook_id}/draft/promote"
    assert_error(_post(client, admin, path, {"etag": tried}), 409, "draft_changed")
    assert client.get(f"/api/hooks/{hook_id}", headers=admin).json["version"] == 1
    promoted = _post(client, admin, path, {"etag": latest})
    assert promoted.status_code == 200 and promoted.json["script"] == "3"


def test_a_draft_takes_the_live_secrets_unless_it_sets_its_own(
    client: FlaskClient, admin: Admin, run_job: Run, hook_id: str
) -> None:
    reads = "({ body: context.secrets || {} })"
    put_hook(client, admin, hook_id, script="null", secrets={"token": "first"})
    draft = _draft(client, admin, hook_id, script=reads)
    assert draft["secretNames"] == ["token"] and draft["secretsInherited"] is True
    assert "first" not in client.get(f"/api/hooks/{hook_id}/draft", headers=admin).text
    # The live secrets when it is promoted, not when it was saved.
    put_hook(client, admin, hook_id, script="null", secrets={"token": "second"})
    _post(client, admin, f"/api/hooks/{hook_id}/draft/promote")
    assert _body(run_job(send(client, hook_id).json["jobId"])) == {"token": "second"}

    own = _draft(client, admin, hook_id, script=reads, secrets={"other": "mine"})
    assert own["secretNames"] == ["other"] and own["secretsInherited"] is False
    _post(client, admin, f"/api/hooks/{hook_id}/draft/promote")
    assert _body(run_job(send(client, hook_id).json["jobId"])) == {"other": "mine"}


def test_rollback_brings_back_the_previous_version_as_a_new_one(
    client: FlaskClient, admin: Admin, run_job: Run, hook_id: str
) -> None:
    reads = "({ body: { v: 'one', s: context.secrets.k } })"
    put_hook(client, admin, hook_id, script=reads, response={"statusCode": 201},
             secrets={"k": "a"})  # fmt: skip
    put_hook(client, admin, hook_id, script=_script("two"), response={"statusCode": 202},
             secrets={"k": "b"})  # fmt: skip
    path = f"/api/hooks/{hook_id}/rollback"
    rolled = _post(client, admin, path)
    assert rolled.status_code == 200, rolled.text
    hook = rolled.json
    assert hook["version"] == 3 and hook["script"] == reads
    assert hook["response"] == {"statusCode": 201}  # the version's settings come back
    job = run_job(send(client, hook_id).json["jobId"])
    # ... but not its credentials: the secret stays the one live now.
    assert job["scriptVersion"] == 3 and _body(job) == {"v": "one", "s": "b"}
    assert job["result"]["statusCode"] == 201

    assert _post(client, admin, path).json["script"] == _script("two")  # back again: v4
    chosen = _post(client, admin, path, {"version": 1}).json
    assert chosen["version"] == 5 and chosen["script"] == reads
    versions = [hook["version"], 4, chosen["version"]]
    assert versions == sorted(set(versions))
    for bad in (5, 6, 0, -1):
        assert_error(_post(client, admin, path, {"version": bad}), 409, "no_earlier_version")
    assert_error(_post(client, admin, path, {"version": "1"}), 400, "invalid_request")


def test_rollback_needs_an_earlier_version_of_this_hook(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    path = f"/api/hooks/{hook_id}/rollback"
    assert_error(_post(client, admin, path), 404, "hook_not_found")
    put_hook(client, admin, hook_id, script="1")
    assert_error(_post(client, admin, path), 409, "no_earlier_version")
    put_hook(client, admin, hook_id, script="2")
    assert client.delete(f"/api/hooks/{hook_id}", headers=admin).status_code == 204
    put_hook(client, admin, hook_id, script="3")  # version 3: 1 and 2 were the deleted hook's
    assert_error(_post(client, admin, path), 409, "no_earlier_version")
    assert_error(_post(client, admin, path, {"version": 2}), 409, "no_earlier_version")


def test_deleting_a_hook_deletes_its_draft_and_versions(
    client: FlaskClient, admin: Admin, hook_id: str, fast_settings: Settings
) -> None:
    store = redis.Redis.from_url(fast_settings.redis_url)
    put_hook(client, admin, hook_id, script="1")
    put_hook(client, admin, hook_id, script="2")
    _draft(client, admin, hook_id, script="3")
    assert store.exists(keys.hook_revision(hook_id, 1), keys.hook_revision(hook_id, 2)) == 2
    assert client.delete(f"/api/hooks/{hook_id}", headers=admin).status_code == 204
    assert not store.exists(keys.hook_draft(hook_id), keys.hook_revision(hook_id, 1))
    put_hook(client, admin, hook_id, script="4")
    assert_error(client.get(f"/api/hooks/{hook_id}/draft", headers=admin), 404, "draft_not_found")


def test_delete_a_draft(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    url = f"/api/hooks/{hook_id}/draft"
    assert_error(client.delete(url, headers=admin), 404, "hook_not_found")
    assert_error(client.put(url, json={"script": "1"}, headers=admin), 404, "hook_not_found")
    put_hook(client, admin, hook_id, script="1")
    assert_error(client.delete(url, headers=admin), 404, "draft_not_found")
    _draft(client, admin, hook_id, script="2")
    assert client.delete(url, headers=admin).status_code == 204
    assert_error(client.get(url, headers=admin), 404, "draft_not_found")
    assert client.get(f"/api/hooks/{hook_id}", headers=admin).json["version"] == 1


def test_an_invalid_draft_is_refused(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    put_hook(client, admin, hook_id, script="1")
    url = f"/api/hooks/{hook_id}/draft"
    assert_error(client.put(url, json={"script": "(("}, headers=admin), 422, "invalid_hook")
    assert_error(client.put(url, json={"mode": "x"}, headers=admin), 422, "invalid_hook")
    assert_error(client.put(url, json=[1], headers=admin), 422, "invalid_hook")
    moved = client.put(url, json={"project": "elsewhere"}, headers=admin)
    assert_error(moved, 422, "invalid_hook")
    assert_error(client.get(url, headers=admin), 404, "draft_not_found")


def test_changes_are_audited_with_names_never_values(
    client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    since = time.time() - 1  # the audit reads oldest first: skip other tests' entries
    put_hook(client, admin, hook_id, script="1")
    _draft(client, admin, hook_id, script="2", secrets={"api": "hunter2"})
    _post(client, admin, f"/api/hooks/{hook_id}/draft/promote")
    _post(client, admin, f"/api/hooks/{hook_id}/rollback")
    _draft(client, admin, hook_id, script="3")
    client.delete(f"/api/hooks/{hook_id}/draft", headers=admin)
    query = {"project": "default", "since": since}
    response = client.get("/api/audit", query_string=query, headers=admin)
    assert "hunter2" not in response.text
    mine = [e for e in response.json["entries"] if e["object"] == hook_id]
    seen = {(e["action"], e["versionBefore"], e["versionAfter"]) for e in mine}
    assert {
        ("draft.put", 1, None),
        ("draft.promote", 1, 2),
        ("secrets.set", None, 2),
        ("hook.rollback", 2, 3),
        ("draft.delete", 3, None),
    } <= seen, seen
    rolled = next(e for e in mine if e["action"] == "hook.rollback")
    assert rolled["detail"] == {"restored": 1}
