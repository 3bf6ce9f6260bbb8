"""The console's smaller actions in Chromium: enable/disable and delete (with
its confirmation) on the hooks page, replaying selected jobs, replaying from
a request's detail, picking a sample request from the history in the test
panel, and the HAR download."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests

from tests.console.browser import Page
from tests.console.conftest import Console
from tests.support.stack import Api

pytestmark = pytest.mark.stack

SCRIPT = "(async () => ({ body: 'got ' + context.path }))();"


@pytest.fixture(scope="module")
def page(browser, console: Console, screenshots: Path) -> Page:  # noqa: ANN001
    page = Page(browser, console.url, screenshots)
    page.sign_in()
    page.wait_text("#title", "Hooks")
    return page


def test_enable_disable_and_delete(page: Page, api: Api) -> None:
    hook_id = f"act-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, script=SCRIPT)
    page.open("/ui/hooks")
    page.click(f'button.toggle[data-hook="{hook_id}"]')
    page.wait(lambda: api.send(hook_id).status_code == 404, what="disabled: 404")
    page.wait_text(f'button.toggle[data-hook="{hook_id}"]', "Enable")
    page.click(f'button.toggle[data-hook="{hook_id}"]')
    page.wait(lambda: api.send(hook_id).status_code == 202, what="enabled again")
    page.wait_text(f'button.toggle[data-hook="{hook_id}"]', "Disable")

    page.click(f'button.delete[data-hook="{hook_id}"]')
    page.find("button.confirm-delete")
    page.shot("hooks-confirm-delete")
    assert api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin).status_code == 200
    page.click("button.confirm-delete")
    page.wait(
        lambda: (
            api.http.get(f"{api.base}/api/hooks/{hook_id}", headers=api.admin).status_code == 404
        ),
        what="deleted",
    )


def test_replay_selected_and_from_the_detail(page: Page, api: Api) -> None:
    hook_id = f"sel-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, script=SCRIPT)
    jobs = [api.run(hook_id, f"/n{i}") for i in range(3)]
    page.open(f"/ui/jobs?hook={hook_id}")
    page.wait(lambda: page.count("tr.job-row") == 3, what="3 jobs")
    for job in jobs[:2]:
        page.click(f'input.select-job[data-job="{job["jobId"]}"]')
    page.wait_text("#replay-selected", "Replay selected (2)")
    page.click("#replay-selected")
    page.wait_text("#confirm-text", "2 job(s)")
    page.click("#confirm-yes")
    page.wait_text("#bulk-status", "Replayed 2 job(s)")
    replayed = {api.job(j["jobId"]).get("replayedBy") for j in jobs}
    assert len(replayed - {None}) == 2 and api.job(jobs[2]["jobId"]).get("replayedBy") is None

    # From a request's detail in the history.
    page.open(f"/ui/hooks/{hook_id}/history")
    page.find("button.open-job")
    page.all("button.open-job")[-1].click()
    page.click("#job-detail button.replay")
    page.wait_text("#job-detail .replay-status", "Replayed as job")
    new_id = page.text("#job-detail .replay-status").rsplit(" ", 1)[-1]
    assert api.wait_job(new_id)["status"] == "succeeded"


def test_test_panel_from_history_and_har(page: Page, api: Api, console: Console) -> None:
    hook_id = f"pick-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, script=SCRIPT)
    api.run(hook_id, "/from-history", params={"q": "1"}, data="picked body")
    page.open(f"/ui/hooks/{hook_id}")
    page.wait(lambda: len(page.all("#test-from option")) == 2, what="history in the picker")
    page.choose("#test-from", page.all("#test-from option")[1].get_attribute("value"))
    assert page.find("#test-path").get_attribute("value") == "/from-history"
    assert page.find("#test-body").get_attribute("value") == "picked body"
    page.click("#run-test")
    page.wait_text("#test-result", "got /from-history")

    # The HAR link downloads the history with the console's session.
    page.open(f"/ui/hooks/{hook_id}/history")
    href = page.find("#har-link").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in page.driver.get_cookies()}
    har = requests.get(href.replace("localhost", "127.0.0.1"), cookies=cookies, timeout=10)
    assert har.status_code == 200 and "attachment" in har.headers["Content-Disposition"]
    entries = har.json()["log"]["entries"]
    assert entries and entries[0]["request"]["url"].endswith("/from-history?q=1")
