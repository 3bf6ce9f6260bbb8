"""The console in a real Chromium, end to end: sign in, create a hook in the
editor, run the test panel, send events, see them in history and in a chart,
make the script fail, find the failed jobs, fix the script, bulk-replay them
and see them succeed. Screenshots of every page go under the test's output."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.console.browser import Page
from tests.console.conftest import Console
from tests.support.stack import Api, wait_until

pytestmark = pytest.mark.stack

GOOD = """(async () => {
  const text = new TextDecoder().decode(new Uint8Array(context.body));
  console.log("<script>alert('log')</script>", context.method);
  return { statusCode: 200, body: { ok: true, got: text } };
})();
"""
BROKEN = """(async () => {
  const order = JSON.parse(new TextDecoder().decode(new Uint8Array(context.body)));
  throw new Error("cannot ship " + order.item);
})();
"""


@pytest.fixture(scope="module")
def page(browser, console: Console, screenshots: Path) -> Page:  # noqa: ANN001
    return Page(browser, console.url, screenshots)


def test_the_whole_console_flow(page: Page, api: Api, console: Console) -> None:
    hook_id = f"flow-{uuid.uuid4().hex[:8]}"

    # Sign in: a wrong token is refused, the right one opens the hooks page.
    page.open("/ui/hooks")
    page.find("#token")
    assert "/ui/sign-in" in page.driver.current_url
    page.shot("01-sign-in")
    page.sign_in("not-the-token")
    page.wait_text("#sign-in-error", "not the admin token")
    page.sign_in()
    page.wait_text("#title", "Hooks")
    page.find("#hooks-list table, #hooks-list .empty")
    page.shot("02-hooks")

    # Create a hook in the editor; a bad limit shows the API's 422 by its field.
    page.click("#new-hook")
    page.find(".CodeMirror")
    page.fill("#hook-id", hook_id)
    page.set_script(GOOD)
    page.fill("#timeoutMs", "99999999")
    page.click("#save")
    error = page.wait(
        lambda: page.find('[data-error-for="limits.timeoutMs"]').text, what="422 next to field"
    )
    assert "between 1 and 60000" in error, error
    page.shot("03-editor-422")
    page.fill("#timeoutMs", "2000")
    page.click("#save")
    page.wait_text("#save-status", "version 1")
    assert page.driver.current_url.startswith(f"{console.url}/ui/hooks/{hook_id}")
    page.shot("04-editor-saved")

    # The test panel runs the editor's script through a real worker; a log line
    # holding <script> is shown as text.
    page.click("#run-test")
    page.wait_text("#test-result", "succeeded")
    result = page.find("#test-result").text
    assert '"got":"{\\"hello\\": \\"world\\"}"' in result or "hello" in result
    assert "<script>alert('log')</script>" in result
    assert (
        page.driver.execute_script("return document.querySelectorAll('#test-result script').length")
        == 0
    )
    page.shot("05-test-panel")

    # Events from a sender show up in the history, and in the hook's chart.
    jobs = [api.run(hook_id, data=f'{{"item": "book-{i}"}}') for i in range(4)]
    assert all(j["status"] == "succeeded" for j in jobs)
    page.open(f"/ui/hooks/{hook_id}/history")
    page.wait(lambda: len(page.all("tr.job-row")) == 4, what="4 history rows")
    page.all("button.open-job")[0].click()
    page.wait_text("#job-detail", "Logs")
    detail = page.find("#job-detail").text
    assert "<script>alert('log')</script>" in detail
    assert (
        page.driver.execute_script("return document.querySelectorAll('#job-detail script').length")
        == 0
    )
    page.shot("06-history")

    page.open(f"/ui/charts?hook={hook_id}")
    page.find('[data-chart="events"] canvas')
    page.find('[data-chart="duration"] canvas')
    page.shot("07-charts-hook")

    # The script breaks: the events fail, and the jobs page finds them.
    page.open(f"/ui/hooks/{hook_id}")
    page.wait_text("#version", "version 1")
    page.set_script(BROKEN)
    page.click("#save")
    page.wait_text("#save-status", "version 2")
    page.click("#run-test")
    page.wait_text("#test-result", "failed")
    assert "cannot ship" in page.find("#test-result").text
    page.shot("08-editor-failing-test")
    failed = [api.run(hook_id, data=f'{{"item": "lamp-{i}"}}') for i in range(3)]
    assert all(j["status"] == "failed" for j in failed)

    page.open(f"/ui/jobs?hook={hook_id}")
    page.wait(lambda: page.find("#f-hook").get_attribute("value") == hook_id, what="hook filter")
    page.click("#dead-letters")
    page.wait(lambda: len(page.all("tr.status-row-failed")) == 3, what="3 dead letters")
    assert "cannot ship lamp-" in page.find("#jobs-list").text
    page.shot("09-jobs-dead-letters")

    # Fix the script, then replay every failed, not yet replayed job of the hook.
    page.open(f"/ui/hooks/{hook_id}")
    page.wait_text("#version", "version 2")
    page.set_script(GOOD)
    page.click("#save")
    page.wait_text("#save-status", "version 3")

    page.open(f"/ui/jobs?hook={hook_id}&status=failed")
    page.wait(lambda: len(page.all("tr.status-row-failed")) == 3, what="3 dead letters")
    page.click("#f-not-replayed")
    page.click("#replay-matching")
    page.wait_text("#confirm-text", "3 job(s)")
    page.shot("10-jobs-confirm-replay")
    page.click("#confirm-yes")
    page.wait_text("#bulk-status", "Replayed 3 job(s)")

    failed_ids = {f["jobId"] for f in failed}

    def replays_succeeded() -> set[str] | None:
        done = {j["replayOf"] for j in _jobs(console, hook_id, status="succeeded")}
        return done if failed_ids <= done else None

    assert failed_ids <= wait_until(replays_succeeded, timeout_s=30, what="the replays succeed")
    page.choose("#f-status", "succeeded")
    page.click("#search")
    page.wait(lambda: len(page.all("tr.status-row-succeeded")) >= 7, what="replays listed")
    page.shot("11-jobs-replayed")

    # The dead letters now say they were replayed (and "not yet replayed" finds none).
    page.choose("#f-status", "failed")
    page.click("#search")
    page.wait_text("#jobs-list", "No jobs match")
    page.click("#f-not-replayed")
    page.click("#search")
    page.wait(lambda: page.find("#jobs-list").text.count("yes (") == 3, what="marked replayed")

    page.open("/ui/fleet")
    page.wait_text("#fleet", "Worker nodes")
    page.wait_text("#readiness", "Ready")
    page.shot("12-fleet")
    page.open("/ui/charts")
    page.find('[data-chart="memory"] canvas')
    page.shot("13-charts-fleet")
    assert page.csp_violations() == []


def test_pages_fit_a_phone(page: Page, api: Api) -> None:
    page.driver.set_window_size(390, 844)
    try:
        page.open("/ui/hooks")
        if "/sign-in" in page.driver.current_url:
            page.sign_in()
        for name, path, ready in (
            ("hooks", "/ui/hooks", "#hooks-list table, #hooks-list .empty"),
            ("jobs", "/ui/jobs", "#jobs-list table, #jobs-list .empty"),
            ("charts", "/ui/charts", "figure.chart"),
            ("fleet", "/ui/fleet", "#fleet h2"),
            ("new-hook", "/ui/hooks/new", ".CodeMirror"),
        ):
            page.open(path)
            page.find(ready)
            # Nothing but tables (which scroll in their own box) is wider than the screen.
            overflow = page.driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{name} is {overflow}px wider than the phone"
            page.shot(f"phone-{name}")
    finally:
        page.driver.set_window_size(1280, 800)


def _jobs(console: Console, hook_id: str, **filters: str) -> list[dict]:
    from tests.console.conftest import sign_in

    http, _ = sign_in(console.loopback_url)
    answer = http.get(
        f"{console.loopback_url}/api/jobs", params={"hook": hook_id, **filters}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["jobs"]
