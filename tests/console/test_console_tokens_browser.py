"""Issue 23's console test in Chromium: signed in with a read-only project
token, the console offers no way to save (no save, delete, toggle, replay or
test buttons; a save forced from the page's own script is refused 403), and
another project's job URL typed in shows "not found". Revoking the token
sends the browser back to the sign-in form."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.console.browser import Page
from tests.console.conftest import Console
from tests.support.stack import Api

pytestmark = pytest.mark.stack

SCRIPT = "(async () => ({ statusCode: 200, body: { ok: true } }))()"

FORCED_SAVE = """
const done = arguments[arguments.length - 1];
const csrf = document.querySelector('meta[name="csrf-token"]').content;
fetch(`/api/hooks/${arguments[0]}?keepSecrets=true`, {
  method: "PUT",
  credentials: "same-origin",
  headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
  body: JSON.stringify({ script: "1", mode: "async" }),
}).then(async (r) => done([r.status, await r.text()]), (e) => done([0, String(e)]));
"""


@pytest.fixture(scope="module")
def page(browser, console: Console, screenshots: Path) -> Page:  # noqa: ANN001
    return Page(browser, console.url, screenshots)


def _project_with_a_job(api: Api) -> tuple[str, str, str]:
    """A new project, its async hook and one finished job of it."""
    project = f"b-{uuid.uuid4().hex[:8]}"
    made = api.http.post(
        f"{api.base}/api/projects",
        json={"id": project, "name": project},
        headers=api.admin,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    hook = f"{project}-hook"
    api.put_hook(hook, script=SCRIPT, mode="async", project=project)
    job = api.run(hook, data=b"{}")
    return project, hook, job["jobId"]


def _token(api: Api, project: str, *scopes: str) -> dict:
    answer = api.http.post(
        f"{api.base}/api/tokens",
        json={"project": project, "name": "read-only", "scopes": list(scopes)},
        headers=api.admin,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_read_only_token_has_no_way_to_save(page: Page, api: Api) -> None:
    project, hook, job = _project_with_a_job(api)
    token = _token(api, project, "hooks:read", "jobs:read", "stats:read")
    page.sign_in(token["token"])
    page.wait_text("#title", "Hooks")
    page.find(f'#hooks-list a[href="/ui/hooks/{hook}"]')
    assert page.text("#who-project") == project
    assert page.count("#new-hook") == 0
    assert page.count("#hooks-list button") == 0  # no enable/disable, no delete
    assert page.count('nav a[href="/ui/fleet"]') == 0
    page.shot("tokens-01-read-only-hooks")

    # The editor shows the hook, read-only: no save button, no test panel.
    page.open(f"/ui/hooks/{hook}")
    page.wait_text("#read-only", "cannot change hooks")
    page.wait(lambda: "version 1" in page.text("#version"), what="the hook loaded")
    assert page.count("#save") == 0 and page.count("#run-test") == 0
    assert page.driver.execute_script(
        "return document.querySelector('.CodeMirror').CodeMirror.getOption('readOnly')"
    )
    assert all(not e.is_enabled() for e in page.all("#hook-form input, #hook-form select"))
    page.shot("tokens-02-read-only-editor")

    # Forced from the page itself (session cookie and CSRF token): refused.
    status, body = page.driver.execute_async_script(FORCED_SAVE, hook)
    assert status == 403 and "hooks:write" in body, (status, body)

    # The job is shown with no replay; the jobs page has no bulk actions.
    page.open(f"/ui/jobs/{job}")
    page.wait_text("#job-detail", "succeeded")
    assert page.count("#job-detail .replay") == 0
    page.open("/ui/jobs")
    page.find(f'.open-job[data-job="{job}"]')
    assert page.count("#replay-selected, #replay-matching, .select-job") == 0
    assert page.csp_violations() == []


def test_another_projects_job_url_shows_not_found(page: Page, api: Api) -> None:
    mine, _, _ = _project_with_a_job(api)
    _, their_hook, their_job = _project_with_a_job(api)
    page.sign_in(_token(api, mine, "hooks:read", "jobs:read")["token"])
    page.wait_text("#title", "Hooks")

    page.open(f"/ui/jobs/{their_job}")
    page.wait_text("#not-found", "Nothing by that name exists")
    assert page.text("#title") == "Not found"
    assert their_job not in page.text("#main").replace(f"No job '{their_job}'.", "")
    page.shot("tokens-03-other-projects-job")
    page.open(f"/ui/hooks/{their_hook}/history")
    page.wait_text("#not-found", "Nothing by that name exists")


def test_revoking_the_token_ends_the_console_session(page: Page, api: Api) -> None:
    project, hook, _ = _project_with_a_job(api)
    token = _token(api, project, "hooks:read")
    page.sign_in(token["token"])
    page.find(f'#hooks-list a[href="/ui/hooks/{hook}"]')
    revoked = api.http.delete(f"{api.base}/api/tokens/{token['id']}", headers=api.admin, timeout=10)
    assert revoked.status_code == 204, revoked.text
    page.open("/ui/hooks")
    page.find("#token")
    assert "/ui/sign-in" in page.driver.current_url
