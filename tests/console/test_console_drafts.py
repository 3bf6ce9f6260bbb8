"""The editor's drafts panel in Chromium (issue 25 item 6): save the editor
as a draft while live events keep the live answer, try the draft on the last
events and read a ``differs`` row side by side, promote and roll back each
after a confirmation in the page, with live events switching answers; a
draft that adds a fetch ``diverged`` with its step and call. Shadow runs:
the share set from the page, a real shadow worker's results listed and
compared; rows that did not differ; and the drafts routes keep the
console's session and CSRF rules."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
import requests

from tests.console.browser import Page
from tests.console.conftest import Console, sign_in
from tests.support.stack import Api
from workers.draft_runs.diff import diff

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
    page.driver.set_window_size(390, 844)  # a phone: the sides stack, nothing overflows
    try:
        overflow = "return document.documentElement.scrollWidth - window.innerWidth"
        assert page.driver.execute_script(overflow) <= 1
        page.find(".side-by-side .side.draft").location_once_scrolled_into_view  # noqa: B018
        page.shot("drafts-phone")
    finally:
        page.driver.set_window_size(1280, 800)
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


def test_a_draft_that_adds_a_fetch_diverged(page: Page, api: Api) -> None:
    hook_id = f"diverge-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, mode="sync", script=LIVE)
    assert greeting(api, hook_id) == "hi ada"
    fetch = '(async () => (await fetch("http://127.0.0.1:9/x"), {'
    fetching = LIVE.replace("(async () => ({", fetch)  # the tape has no such call
    page.open(f"/ui/hooks/{hook_id}")
    page.wait_text("#draft-line", "No draft.")
    page.set_script(fetching)
    page.click("#save-draft")
    page.wait_text("#draft-line", "Draft saved")
    page.set_script(LIVE + "// not saved\n")  # Try runs the saved draft, and says so
    page.click("#try-draft")
    page.wait_text("#try-status-line", "Tried 1 event(s).", timeout_s=60)
    assert "unsaved changes: this tried the saved draft" in page.text("#try-status-line")
    assert page.text('#try-counts [data-outcome="diverged"]') == "diverged 1"
    row = page.text("tr.try-row.outcome-row-diverged")
    assert "step 1: fetch GET http://127.0.0.1:9/x" in row, row
    assert page.count("tr.try-row button.compare") == 0  # no answer to compare


def test_shadow_runs_set_and_shown(page: Page, api: Api, shadow_worker) -> None:  # noqa: ANN001
    hook_id = f"shadow-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, mode="sync", script=LIVE)
    page.open(f"/ui/hooks/{hook_id}")
    page.wait_text("#draft-line", "No draft.")
    assert not page.find("#drafts-panel").is_displayed() or not page.all(
        "#shadow-section:not([hidden])"
    )

    # With a draft, the share is set from the page (PATCH): 100% of live events.
    page.set_script(DRAFT)
    page.click("#save-draft")
    page.wait_text("#draft-line", "Draft saved")
    page.wait_text("#shadow-summary", "Shadow runs are off.")
    page.fill("#shadow-percent", "100")
    page.click("#shadow-set")
    page.wait_text("#shadow-status", "Shadowing 100% of live events.")
    hook = api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin).json()
    assert hook["shadow"]["sample"] == 1.0
    assert hook["version"] == 2  # a setting changed: a new version, the same script
    page.wait_text("#draft-line", "live: version 2")

    # Live events keep the live answer; each one's shadow run differs.
    assert greeting(api, hook_id, "ada") == "hi ada"
    assert greeting(api, hook_id, "bob") == "hi bob"
    results = f"{api.base}/api/hooks/{hook_id}/draft/shadow"
    page.wait(
        lambda: api.http.get(results, headers=api.admin).json()["counts"]["differs"] == 2,
        what="two shadow runs",
    )
    page.open(f"/ui/hooks/{hook_id}")
    page.wait_text("#shadow-summary", "The draft runs on 100% of live events")
    page.wait_text('#shadow-info [data-outcome="differs"]', "differs 2")
    assert page.text('#shadow-info [data-outcome="same"]') == "same 0"
    assert page.count("#shadow-list tr.try-row") == 2
    page.click("#shadow-list button.compare")
    page.find("#shadow-detail .side-by-side")
    assert any('"greeting": "hello ' in line for line in changed(page, "draft"))
    assert any('"greeting": "hi ' in line for line in changed(page, "recorded"))
    page.shot("drafts-shadow")

    # Saving the live hook from the editor, or disabling and enabling it on
    # the hooks page, keeps the share (settings the form does not show).
    page.click("#save")
    page.wait_text("#save-status", "Saved: version 2")  # nothing changed: no new version
    page.open("/ui/hooks")
    for label in ("Enable", "Disable"):
        page.click(f'button.toggle[data-hook="{hook_id}"]')
        page.wait_text(f'button.toggle[data-hook="{hook_id}"]', label)
    hook = api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin).json()
    assert hook["shadow"] == {"sample": 1.0} and hook["enabled"] and hook["version"] == 4
    assert page.csp_violations() == []


def test_shadow_rows_that_did_not_differ(page: Page, api: Api) -> None:
    """Rows of the documented shape the stack rarely makes on purpose: a
    diverged run (step and call), and a diff too big to keep."""
    hook_id = f"shadowrows-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, mode="sync", script=LIVE)
    page.open(f"/ui/hooks/{hook_id}")
    page.wait(lambda: page.count("#shadow-summary") == 1, what="the page's own shadow answer")
    recent = [
        {
            "jobId": "a" * 32,
            "outcome": "diverged",
            "at": 1,
            "diff": {"step": 1, "call": "fetch GET https://x/y"},
        },
        {
            "jobId": "b" * 32,
            "outcome": "differs",
            "at": 1,
            "diff": {"truncated": True, "bytes": 20000, "fields": ["body"]},
        },
    ]
    data = {
        "sample": 0.5,
        "draftVersion": "e1",
        "counts": {"diverged": 1, "differs": 1},
        "recent": recent,
    }
    render = "return import('/ui/static/js/draftruns.js').then((m) => m.renderShadow(arguments[0]))"
    page.driver.execute_script(render, data)
    page.wait_text("#shadow-summary", "The draft runs on 50% of live events")
    texts = [row.get_attribute("textContent") for row in page.all("#shadow-list tr.try-row")]
    assert "step 1: fetch GET https://x/y" in texts[0]
    assert "too big to keep (body changed)" in texts[1]
    assert page.count("#shadow-list button.compare") == 0


def test_draft_changes_through_the_console_need_its_csrf_token(console: Console, api: Api) -> None:
    """The drafts routes the console now serves keep its rules: the session
    and the page's CSRF token on every change, never a bearer token."""
    hook_id = f"draftcsrf-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, mode="sync", script=LIVE)
    http, csrf = sign_in(console.url)
    draft = f"{console.url}/api/hooks/{hook_id}/draft"
    body = {"mode": "sync", "script": DRAFT}
    assert http.put(draft, json=body, timeout=10).status_code == 403  # no CSRF token
    assert http.get(draft, timeout=10).status_code == 404  # nothing saved
    headers = {"X-CSRF-Token": csrf}
    assert http.put(draft, json=body, headers=headers, timeout=10).status_code == 201
    promote = f"{draft}/promote"
    assert http.post(promote, timeout=10).status_code == 403
    bearer = requests.post(promote, headers=api.admin, timeout=10)
    assert bearer.status_code == 401
    assert greeting(api, hook_id) == "hi ada"  # neither promoted it
    assert http.post(promote, headers=headers, timeout=10).status_code == 200
    assert greeting(api, hook_id) == "hello ada"


PAIRS = [
    ({"a": 1, "b": [1, 2, 3, 4]}, {"a": 2, "b": [1, 2]}),  # a change, an array shrinks
    ({"b": [1]}, {"b": [1, {"x": 1}, 3], "c": {"d": None}}),  # an array grows, a key is added
    ({"a.b": 1, "n": {"m": [1, {"k": "v"}]}}, {"a.b": 2, "n": {"m": [1, {"k": "w", "l": 0}]}}),
    ({"gone": True, "t": [1]}, {"t": {"now": "an object"}}),  # a removal, a type change
    ([1, 2], {"root": "changed"}),
]


def test_the_draft_side_is_the_recorded_answer_with_the_diff_applied(page: Page) -> None:
    """The page rebuilds the draft's JSON body from the recorded one and the
    API's changes (workers/draft_runs/diff.py, the server's own function)."""
    page.open("/ui/hooks")
    page.find("#hooks-list")
    script = (
        "return import('/ui/static/js/sidebyside.js')"
        ".then((m) => m.applyChanges(arguments[0], arguments[1]))"
    )
    for stored, draft in PAIRS:
        changes = diff({"body": orjson.dumps(stored)}, {"body": orjson.dumps(draft)})["body"]
        assert changes["json"], changes
        rebuilt = page.driver.execute_script(script, stored, changes["changes"])
        assert rebuilt == draft, (stored, draft, changes)
