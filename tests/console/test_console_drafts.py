"""The editor's drafts panel in Chromium (issue 25 item 6): save the editor
as a draft while live events keep the live answer, try the draft on the last
events and read a ``differs`` row side by side, promote and roll back each
after a confirmation in the page, with live events switching answers. The
shadow panel says "No shadow runs." while the API has none, and renders a
shadow answer of the documented shape."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.console.browser import Page
from tests.console.conftest import Console
from tests.support.stack import Api

pytestmark = pytest.mark.stack

LIVE = """(async () => ({
  headers: { "content-type": "application/json", "x-answer": "live" },
  body: { greeting: "hi " + context.query.name, n: 1 },
}))();
"""
DRAFT = """(async () => ({
  headers: { "content-type": "application/json", "x-answer": "draft" },
  body: { greeting: "hello " + context.query.name, n: 1, extra: true },
}))();
"""


@pytest.fixture(scope="module")
def page(browser, console: Console, screenshots: Path) -> Page:  # noqa: ANN001
    page = Page(browser, console.url, screenshots)
    page.sign_in()
    page.wait_text("#title", "Hooks")
    return page


def greeting(api: Api, hook_id: str, name: str = "ada") -> str:
    answer = api.send(hook_id, f"?name={name}")
    assert answer.status_code == 200, answer.text
    return answer.json()["greeting"]


def hook_version(api: Api, hook_id: str) -> int:
    return api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin).json()["version"]


def changed(page: Page, side: str) -> list[str]:
    return [e.get_attribute("textContent") for e in page.all(f".side.{side} .changed")]


def test_save_try_promote_and_roll_back_a_draft(page: Page, api: Api) -> None:
    hook_id = f"draft-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, mode="sync", script=LIVE)
    for name in ("ada", "bob", "cy"):
        assert greeting(api, hook_id, name) == f"hi {name}"

    # Save the edited script as a draft: live events keep the live answer.
    page.open(f"/ui/hooks/{hook_id}")
    page.wait_text("#draft-line", "No draft. Live: version 1.")
    page.set_script(DRAFT)
    page.click("#save-draft")
    page.wait_text("#save-status", "Draft saved. Live is unchanged.")
    page.wait_text("#draft-line", "Draft saved (from version 1; live: version 1).")
    page.shot("drafts-saved")
    assert greeting(api, hook_id) == "hi ada"
    assert hook_version(api, hook_id) == 1
    saved = api.http.get(f"{api.base}/api/hooks/{hook_id}/draft", headers=api.admin).json()
    assert "hello" in saved["script"]

    # Try it on the last events (the 3 above and the one just sent): all
    # differ; compare one side by side.
    page.fill("#try-limit", "10")
    page.click("#try-draft")
    page.wait_text("#try-status-line", "Tried 4 event(s).", timeout_s=60)
    assert page.text('#try-counts [data-outcome="differs"]') == "differs 4"
    assert page.text('#try-counts [data-outcome="same"]') == "same 0"
    assert page.count("tr.try-row.outcome-row-differs") == 4
    summary = page.text("tr.try-row td[data-label='What']")
    assert "header x-answer" in summary and "body $.greeting" in summary
    page.click("tr.try-row button.compare")
    page.find(".side-by-side")
    recorded, draft = changed(page, "recorded"), changed(page, "draft")
    assert any("x-answer: live" in line for line in recorded), recorded
    assert any("x-answer: draft" in line for line in draft), draft
    assert any('"greeting": "hi ' in line for line in recorded), recorded
    assert any('"greeting": "hello ' in line for line in draft), draft
    assert any('"extra": true' in line for line in draft), draft
    assert not any('"n": 1' in line for line in recorded + draft)  # unchanged: not marked
    page.shot("drafts-side-by-side")
    assert greeting(api, hook_id) == "hi ada"  # trying served nothing

    # Promote, after a confirmation in the page (cancel first: nothing changes).
    page.click("#promote")
    page.wait_text("#draft-confirm-text", "Promote the draft? Live events will run it as version 2")
    page.shot("drafts-confirm-promote")
    page.click("#draft-confirm-no")
    page.wait_text("#draft-status", "Cancelled.")
    assert hook_version(api, hook_id) == 1 and greeting(api, hook_id) == "hi ada"
    page.click("#promote")
    page.click("#draft-confirm-yes")
    page.wait_text("#draft-status", "Promoted: live is version 2.")
    assert greeting(api, hook_id) == "hello ada"
    page.wait_text("#draft-line", "No draft. Live: version 2.")
    page.wait_text("#version", "version 2")

    # Roll back, confirmed: the previous answer is back as version 3.
    page.click("#rollback")
    page.wait_text("#draft-confirm-text", "Roll back to version 1?")
    page.click("#draft-confirm-yes")
    page.wait_text("#draft-status", "Rolled back: live is version 3 (the script of version 1).")
    assert greeting(api, hook_id) == "hi ada"
    assert hook_version(api, hook_id) == 3
    assert "hi " in page.driver.execute_script(
        "return document.querySelector('.CodeMirror').CodeMirror.getValue()"
    )
    assert page.csp_violations() == []


SHADOW = {
    "sample": 0.25,
    "draftVersion": 1,
    "counts": {"same": 7, "differs": 1, "diverged": 0, "failed": 0},
    "recent": [
        {
            "jobId": "JOBID",
            "outcome": "differs",
            "at": "2026-12-07T23:00:00Z",
            "diff": {
                "body": {
                    "json": True,
                    "changes": [{"path": "$.greeting", "stored": "hi ada", "draft": "hello ada"}],
                }
            },
        }
    ],
}


def test_the_shadow_panel(page: Page, api: Api) -> None:
    hook_id = f"shadow-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, mode="sync", script=LIVE)
    answer = api.send(hook_id, "?name=ada")
    job_id = answer.headers.get("X-Hooklet-Job") or _last_job(api, hook_id)
    page.open(f"/ui/hooks/{hook_id}")
    page.set_script(DRAFT)
    page.click("#save-draft")
    page.wait_text("#draft-line", "Draft saved")
    page.find("#shadow-section")
    shadow = api.http.get(f"{api.base}/api/hooks/{hook_id}/draft/shadow", headers=api.admin)
    if shadow.status_code == 404:
        page.wait_text("#no-shadow", "No shadow runs.")
    # The rendering of an answer of the documented shape (GET .../draft/shadow).
    data = {**SHADOW, "recent": [{**SHADOW["recent"][0], "jobId": job_id}]}
    render = "return import('/ui/static/js/draftruns.js').then((m) => m.renderShadow(arguments[0]))"
    page.driver.execute_script(render, data)
    page.wait_text("#shadow-summary", "The draft runs on 25% of live events")
    assert page.text('#shadow-info [data-outcome="same"]') == "same 7"
    assert page.text('#shadow-info [data-outcome="differs"]') == "differs 1"
    assert page.find("#shadow-percent").get_attribute("value") == "25"
    page.click("#shadow-list button.compare")
    page.find("#shadow-detail .side-by-side")
    assert any('"greeting": "hello ada"' in line for line in changed(page, "draft"))
    assert any('"greeting": "hi ada"' in line for line in changed(page, "recorded"))
    page.shot("drafts-shadow")


def _last_job(api: Api, hook_id: str) -> str:
    jobs = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs", headers=api.admin).json()["jobs"]
    return jobs[0]["jobId"]
