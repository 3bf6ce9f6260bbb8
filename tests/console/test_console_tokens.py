"""Issue 23 item 7: the console signs in with a project token (``hlt_…``)
as well as the admin token. Its session acts with that token's project and
scopes through the API's own rules (app/access.py): a read-only token cannot
save (403), another project's job or hook is "not found", and revoking or
expiring the token ends the session. The admin picks a project (``?project=``).

Before, the console took only the admin token: a project token was refused
at sign-in (401), and every console session was the admin."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis
from flask.testing import FlaskClient

from app.console import create_console_app
from tests.support.stack import ADMIN_TOKEN
from workers.settings import Settings
from workers.store import keys

SCRIPT = "(async () => ({ statusCode: 200, body: 'ok' }))()"


@dataclass
class Team:
    project: str
    hook: str
    job: str


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf(?:-token)?" (?:value|content)="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def _sign_in(console: FlaskClient, token: str) -> int:
    form = console.get("/ui/sign-in").text
    return console.post("/ui/sign-in", data={"csrf": _csrf(form), "token": token}).status_code


@pytest.fixture
def team(client: FlaskClient, admin: dict[str, str]) -> Callable[[], Team]:
    """A new project with one async hook and one (queued) job."""

    def make() -> Team:
        project = f"t-{uuid.uuid4().hex[:8]}"
        answer = client.post("/api/projects", json={"id": project, "name": project}, headers=admin)
        assert answer.status_code == 201, answer.text
        hook = f"{project}-hook"
        answer = client.put(
            f"/api/hooks/{hook}",
            json={"script": SCRIPT, "mode": "async", "project": project},
            headers=admin,
        )
        assert answer.status_code == 201, answer.text
        sent = client.post(f"/h/{hook}", data=b"{}")
        assert sent.status_code == 202, sent.text
        return Team(project, hook, sent.get_json()["jobId"])

    return make


@pytest.fixture
def mint(client: FlaskClient, admin: dict[str, str]) -> Callable[..., dict]:
    def make(project: str, *scopes: str, expires_in_s: int | None = None) -> dict:
        body = {"project": project, "name": "console", "scopes": list(scopes)}
        if expires_in_s:
            body["expiresInS"] = expires_in_s
        answer = client.post("/api/tokens", json=body, headers=admin)
        assert answer.status_code == 201, answer.text
        return answer.get_json()

    return make


@pytest.fixture
def console(fast_settings: Settings) -> FlaskClient:
    return create_console_app(fast_settings).test_client()


def test_a_read_only_token_signs_in_sees_its_project_and_cannot_save(
    console: FlaskClient, team, mint
) -> None:  # noqa: ANN001
    mine, theirs = team(), team()
    token = mint(mine.project, "hooks:read", "jobs:read")
    assert _sign_in(console, token["token"]) == 302

    page = console.get(f"/ui/hooks/{mine.hook}")
    assert page.status_code == 200
    assert 'data-scopes="hooks:read jobs:read"' in page.text
    assert f'data-project="{mine.project}"' in page.text
    assert 'href="/ui/fleet"' not in page.text  # admin only: not offered
    csrf = _csrf(page.text)

    listed = console.get("/api/hooks").get_json()["hooks"]
    assert [h["id"] for h in listed] == [mine.hook]
    assert console.get(f"/api/jobs/{mine.job}").status_code == 200

    change = {"X-CSRF-Token": csrf}
    saved = console.put(f"/api/hooks/{mine.hook}", json={"script": "1"}, headers=change)
    assert saved.status_code == 403 and "hooks:write" in saved.text
    assert console.delete(f"/api/hooks/{mine.hook}", headers=change).status_code == 403
    replay = console.post(f"/api/jobs/{mine.job}/replay", headers=change)
    assert replay.status_code == 403 and "jobs:write" in replay.text
    assert console.get("/api/workers").status_code == 403  # the fleet is the admin's
    # Another project's hook: not found, even to change it.
    assert console.get(f"/api/hooks/{theirs.hook}").status_code == 404


def test_another_projects_job_url_is_not_found(console: FlaskClient, team, mint) -> None:  # noqa: ANN001
    mine, theirs = team(), team()
    assert _sign_in(console, mint(mine.project, "hooks:read", "jobs:read")["token"]) == 302

    own = console.get(f"/ui/jobs/{mine.job}")
    assert own.status_code == 200 and f'data-job="{mine.job}"' in own.text
    for path in (f"/ui/jobs/{theirs.job}", f"/ui/hooks/{theirs.hook}", f"/ui/jobs/{'0' * 32}"):
        other = console.get(path)
        assert other.status_code == 404, path
        assert 'id="not-found"' in other.text and "Nothing by that name exists" in other.text
    assert console.get(f"/api/jobs/{theirs.job}").status_code == 404


def test_revoking_the_token_ends_the_console_session(
    console: FlaskClient,
    team,
    mint,
    client: FlaskClient,
    admin: dict[str, str],
    fast_settings: Settings,
) -> None:  # noqa: ANN001
    mine = team()
    token = mint(mine.project, "hooks:read")
    assert _sign_in(console, token["token"]) == 302
    assert console.get("/api/hooks").status_code == 200
    store = redis.Redis.from_url(fast_settings.redis_url)
    before = set(store.scan_iter(keys.console_session("*")))

    assert client.delete(f"/api/tokens/{token['id']}", headers=admin).status_code == 204
    assert console.get("/api/hooks").status_code == 401
    page = console.get("/ui/hooks")
    assert page.status_code == 302 and "/ui/sign-in" in page.headers["Location"]
    # The session's record is gone too: a new token with that id could not revive it.
    assert len(set(store.scan_iter(keys.console_session("*")))) < len(before)
    # And the revoked token cannot sign in again.
    assert _sign_in(console, token["token"]) == 401


def test_an_expired_token_ends_the_console_session(
    console: FlaskClient, team, mint, fast_settings: Settings
) -> None:  # noqa: ANN001
    mine = team()
    token = mint(mine.project, "hooks:read", expires_in_s=3600)
    assert _sign_in(console, token["token"]) == 302
    assert console.get("/api/hooks").status_code == 200
    # Its time is up (the record's own expiry, before Redis lets the key go).
    store = redis.Redis.from_url(fast_settings.redis_url)
    store.hset(keys.api_token(token["id"]), "expiresAt", repr(time.time() - 1))
    assert console.get("/api/hooks").status_code == 401


def test_a_wrong_project_token_is_refused_at_sign_in(console: FlaskClient) -> None:
    bad = f"hlt_{'a' * 16}_{'b' * 43}"
    form = console.get("/ui/sign-in").text
    answer = console.post("/ui/sign-in", data={"csrf": _csrf(form), "token": bad})
    assert answer.status_code == 401 and "not the admin token" in answer.text


def test_the_admin_picks_a_project(console: FlaskClient, team, mint) -> None:  # noqa: ANN001
    first, second = team(), team()
    assert _sign_in(console, ADMIN_TOKEN) == 302
    page = console.get(f"/ui/hooks?project={first.project}")
    assert f'<option value="{first.project}" selected>' in page.text
    assert f'<option value="{second.project}">' in page.text

    hooks = console.get(f"/api/hooks?project={first.project}").get_json()["hooks"]
    assert [h["id"] for h in hooks] == [first.hook]
    summary = console.get(f"/api/stats/hooks?project={first.project}").get_json()["hooks"]
    assert list(summary) == [first.hook]
    jobs = console.get(f"/api/jobs?project={first.project}&since=").get_json()["jobs"]
    assert {j["jobId"] for j in jobs} == {first.job}
    assert console.get("/api/hooks?project=no-such-project").status_code == 404
    # All projects when none is picked.
    ids = {h["id"] for h in console.get("/api/hooks").get_json()["hooks"]}
    assert {first.hook, second.hook} <= ids


def test_a_project_token_cannot_pick_another_project(console: FlaskClient, team, mint) -> None:  # noqa: ANN001
    mine, theirs = team(), team()
    assert _sign_in(console, mint(mine.project, "hooks:read", "jobs:read")["token"]) == 302
    assert console.get(f"/api/hooks?project={theirs.project}").status_code == 404
    assert console.get(f"/api/jobs?project={theirs.project}").status_code == 404
    own = console.get(f"/api/hooks?project={mine.project}").get_json()["hooks"]
    assert [h["id"] for h in own] == [mine.hook]
