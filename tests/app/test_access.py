"""Projects and scoped tokens in the fast layer (Flask's test client, real
Redis): the upgrade from a Redis without projects, the auth throttle, the
audit log, token minting rules, expiry, maxHooks and project deletion."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import orjson
import pytest
import redis
from flask.testing import FlaskClient

from app import create_app
from tests.support.fast import assert_error, put_hook, send
from workers.settings import Settings
from workers.store import keys
from workers.store.access.tokens import SCOPES
from workers.store.kv.store import KvQuotas, KvStore


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _project(client: FlaskClient, admin: dict, **quotas: int) -> str:
    project = _id("p")
    r = client.post("/api/projects", json={"id": project, "quotas": quotas}, headers=admin)
    assert r.status_code == 201, r.text
    return project


def _token(client: FlaskClient, auth: dict, project: str, scopes=SCOPES, **extra) -> dict:
    body = {"project": project, "name": "t", "scopes": list(scopes), **extra}
    r = client.post("/api/tokens", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json


@pytest.fixture
def rdb(fast_settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(fast_settings.redis_url)


def test_an_upgraded_redis_keeps_every_hook_job_and_kv_key_in_default(
    client: FlaskClient, admin: dict, rdb: redis.Redis, fast_settings: Settings
) -> None:
    """Keys as the release before projects wrote them: a hook definition
    without ``project``, a job hash without it, KV under the hook."""
    hook_id = _id("old")
    put_hook(client, admin, hook_id, script="({ body: 'still here' })")
    job_id = send(client, hook_id).json["jobId"]
    stored = orjson.loads(rdb.hget(keys.hook(hook_id), "def"))
    del stored["project"]  # the previous layout
    rdb.hset(keys.hook(hook_id), "def", orjson.dumps(stored))
    rdb.hdel(keys.job(job_id), "project")
    KvStore(rdb, hook_id, KvQuotas()).set("greeting", "aGk", {})
    # A client reads a stored hook afresh (the web's hook cache would not).
    default = _bearer(_token(client, admin, "default")["token"])
    other = _bearer(_token(client, admin, _project(client, admin))["token"])

    got = client.get(f"/api/hooks/{hook_id}", headers=default)
    assert got.status_code == 200 and got.json["project"] == "default"
    assert hook_id in {h["id"] for h in client.get("/api/hooks", headers=default).json["hooks"]}
    job = client.get(f"/api/jobs/{job_id}", headers=default)
    assert job.status_code == 200
    found = client.get("/api/jobs", query_string={"hook": hook_id}, headers=default).json
    assert [j["jobId"] for j in found["jobs"]] == [job_id] and found["jobs"][0]["project"] == (
        "default"
    )
    kv = client.get(f"/api/hooks/{hook_id}/kv/greeting", headers=default)
    assert kv.status_code == 200 and kv.json["value"] == "aGk"
    # ... and nowhere else.
    assert_error(client.get(f"/api/hooks/{hook_id}", headers=other), 404, "hook_not_found")
    assert_error(client.get(f"/api/jobs/{job_id}", headers=other), 404, "job_not_found")
    assert client.get("/api/jobs", query_string={"hook": hook_id}, headers=other).json["jobs"] == []
    # The hook still takes events.
    assert send(client, hook_id).status_code == 202


@pytest.fixture
def throttled_client(fast_settings: Settings, rdb: redis.Redis) -> Iterator[FlaskClient]:
    app = create_app(
        Settings(**{**vars(fast_settings), "api_auth_attempts": 3, "api_auth_window_s": 60})
    )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.77"
    rdb.delete(keys.api_auth_failures("127.0.0.77"))
    yield client
    rdb.delete(keys.api_auth_failures("127.0.0.77"))


def test_wrong_tokens_are_throttled_per_client(throttled_client: FlaskClient, admin: dict) -> None:
    client = throttled_client
    for _ in range(5):  # no token is no guess
        assert client.get("/api/hooks").status_code == 401
    for _ in range(3):
        assert client.get("/api/hooks", headers=_bearer("guess")).status_code == 401
    blocked = client.get("/api/hooks", headers=_bearer("guess"))
    assert_error(blocked, 429, "too_many_requests")
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # Past the limit even the right token waits: a guess cannot be confirmed.
    assert client.get("/api/hooks", headers=admin).status_code == 429
    client.environ_base["REMOTE_ADDR"] = "127.0.0.78"  # another client is not held
    assert client.get("/api/hooks", headers=admin).status_code == 200


def test_the_audit_log_records_changes_without_secrets_or_tokens(
    client: FlaskClient, admin: dict
) -> None:
    project = _project(client, admin)
    minted = _token(client, admin, project)
    auth = _bearer(minted["token"])
    hook_id = _id("aud")
    r = client.put(
        f"/api/hooks/{hook_id}",
        json={"script": "1", "secrets": {"API_KEY": "s3cr3t"}},
        headers=auth,
    )
    assert r.status_code == 201
    client.put(f"/api/hooks/{hook_id}", json={"script": "2"}, headers=auth)
    client.delete(f"/api/hooks/{hook_id}", headers=auth)

    page = client.get("/api/audit", headers=auth).json
    text = orjson.dumps(page).decode()
    assert "s3cr3t" not in text and minted["token"] not in text
    actions = [
        (e["action"], e["object"], e["versionBefore"], e["versionAfter"]) for e in page["entries"]
    ]
    assert actions == [
        ("project.create", project, None, 1),
        ("token.create", minted["id"], None, None),
        ("hook.create", hook_id, None, 1),
        ("secrets.set", hook_id, None, 1),
        ("hook.update", hook_id, 1, 2),
        ("secrets.remove", hook_id, None, 2),
        ("hook.delete", hook_id, 2, None),
    ]
    made = page["entries"][2]
    assert made["tokenId"] == minted["id"] and made["tokenName"] == "t"
    assert page["entries"][3]["detail"] == {"names": ["API_KEY"]}
    # Filters and the cursor.
    hooks_only = client.get("/api/audit", query_string={"action": "hook."}, headers=auth).json
    assert [e["action"] for e in hooks_only["entries"]] == [
        "hook.create",
        "hook.update",
        "hook.delete",
    ]
    first = client.get("/api/audit", query_string={"limit": 4}, headers=auth).json
    rest = client.get("/api/audit", query_string={"cursor": first["nextCursor"]}, headers=auth).json
    assert [e["id"] for e in first["entries"] + rest["entries"]] == [
        e["id"] for e in page["entries"]
    ]
    # Another project's token sees none of it.
    other = _bearer(_token(client, admin, _project(client, admin))["token"])
    assert project not in orjson.dumps(client.get("/api/audit", headers=other).json).decode()
    asked = client.get("/api/audit", query_string={"project": project}, headers=other)
    assert_error(asked, 404, "not_found")


def test_a_project_token_mints_only_within_its_project_and_scopes(
    client: FlaskClient, admin: dict
) -> None:
    project = _project(client, admin)
    manager = _bearer(_token(client, admin, project, ["tokens:write", "hooks:read"])["token"])
    ok = client.post("/api/tokens", json={"name": "ro", "scopes": ["hooks:read"]}, headers=manager)
    assert ok.status_code == 201 and ok.json["project"] == project
    wider = client.post(
        "/api/tokens", json={"name": "rw", "scopes": ["hooks:write"]}, headers=manager
    )
    assert "hooks:write" in assert_error(wider, 403, "forbidden")["message"]
    elsewhere = {"project": "default", "name": "x", "scopes": ["hooks:read"]}
    assert_error(client.post("/api/tokens", json=elsewhere, headers=manager), 404, "not_found")
    listed = client.get("/api/tokens", headers=manager).json["tokens"]
    assert {t["project"] for t in listed} == {project} and all("token" not in t for t in listed)


def test_an_expired_token_is_refused(client: FlaskClient, admin: dict, rdb: redis.Redis) -> None:
    minted = _token(client, admin, "default", ["hooks:read"], expiresInS=3600)
    assert client.get("/api/hooks", headers=_bearer(minted["token"])).status_code == 200
    assert 0 < rdb.ttl(keys.api_token(minted["id"])) <= 3600  # Redis drops it then
    rdb.hset(keys.api_token(minted["id"]), "expiresAt", repr(time.time() - 1))
    assert client.get("/api/hooks", headers=_bearer(minted["token"])).status_code == 401
    rdb.delete(keys.api_auth_failures("127.0.0.1"))


def test_hooks_stay_in_their_project_within_max_hooks(client: FlaskClient, admin: dict) -> None:
    a, b = _project(client, admin, maxHooks=1), _project(client, admin)
    auth_a = _bearer(_token(client, admin, a)["token"])
    auth_b = _bearer(_token(client, admin, b)["token"])
    hook_id = _id("q")
    assert (
        client.put(f"/api/hooks/{hook_id}", json={"script": "1"}, headers=auth_a).status_code == 201
    )
    over = client.put(f"/api/hooks/{_id('q')}", json={"script": "1"}, headers=auth_a)
    assert "maxHooks" in assert_error(over, 422, "quota_exceeded")["message"]
    # B cannot take, change or learn more of A's hook than that its id is used.
    assert_error(
        client.put(f"/api/hooks/{hook_id}", json={"script": "x"}, headers=auth_b),
        404,
        "hook_not_found",
    )
    assert_error(
        client.post("/api/hooks", json={"id": hook_id, "script": "x"}, headers=auth_b),
        409,
        "conflict",
    )
    moved = client.put(f"/api/hooks/{hook_id}", json={"script": "1", "project": b}, headers=admin)
    assert_error(moved, 422, "invalid_hook")
    assert_error(client.get("/api/stats", headers=auth_a), 400, "invalid_request")


def test_deleting_a_project_with_hooks_needs_cascade(client: FlaskClient, admin: dict) -> None:
    project = _project(client, admin)
    token = _token(client, admin, project)["token"]
    hook_id = _id("c")
    put_hook(client, admin, hook_id, script="1", project=project)
    assert_error(client.delete(f"/api/projects/{project}", headers=admin), 409, "conflict")
    assert client.delete(f"/api/projects/{project}?cascade=true", headers=admin).status_code == 204
    assert_error(client.get(f"/api/hooks/{hook_id}", headers=admin), 404, "hook_not_found")
    assert client.get("/api/hooks", headers=_bearer(token)).status_code == 401
    assert_error(client.get(f"/api/projects/{project}", headers=admin), 404, "not_found")
    assert_error(client.delete("/api/projects/default", headers=admin), 400, "invalid_request")
