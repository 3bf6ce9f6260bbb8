"""The console's jobs view lists an ordered hook's blocked keys (issue 24)
with resume and skip buttons, in Chromium against the real stack."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.console.browser import Page
from tests.console.conftest import Console
from tests.support.stack import Api, wait_until

pytestmark = pytest.mark.stack

BAD = """(async () => {
  const event = JSON.parse(Deno.core.decode(new Uint8Array(context.body)));
  if (event.bad) throw new Error('bad event');
  return { body: 'ok' };
})()"""
ORDERING = {"key": "header:X-Key", "onFailure": "block"}


def _blocked(api: Api, hook_id: str, key: str) -> tuple[str, str]:
    """A failed event of ``key`` and one waiting behind it."""
    failed, waiting = (
        api.send(hook_id, json={"bad": n == 0}, headers={"X-Key": key}).json()["jobId"]
        for n in range(2)
    )
    assert api.wait_job(failed)["status"] == "failed"
    assert api.job(waiting).get("blockedBy") == failed
    return failed, waiting


def test_blocked_keys_are_listed_and_resumed_or_skipped_from_the_jobs_view(
    browser,  # noqa: ANN001
    console: Console,
    screenshots: Path,
    api: Api,
) -> None:
    hook_id = f"ord-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, script=BAD, ordering=ORDERING)
    rerun_failed, rerun_waiting = _blocked(api, hook_id, "customer/1")
    skip_failed, skip_waiting = _blocked(api, hook_id, "customer/2")
    # Fixed, and no longer ordered: the keys that blocked before stay listed.
    api.put_hook(hook_id, script="({ body: 'fixed' })")

    page = Page(browser, console.url, screenshots)
    page.sign_in()
    page.wait_text("#title", "Hooks")
    page.open(f"/ui/jobs?hook={hook_id}")
    page.wait_text("#blocked-keys", "customer/1")
    page.wait_text("#blocked-keys", "customer/2")
    assert page.count(".blocked-key") == 2
    page.shot("jobs-blocked-keys")

    page.click('.resume-key[data-key="customer/1"]')
    page.wait_text("#blocked-status", "customer/1")
    page.wait(lambda: page.count(".blocked-key") == 1, what="customer/1 no longer listed")
    page.click('.skip-key[data-key="customer/2"]')
    page.wait_text("#blocked-status", "skipped")
    page.wait(lambda: not page.all(".blocked-key"), what="no blocked key left")

    assert api.wait_job(rerun_waiting)["status"] == "succeeded"
    assert api.wait_job(skip_waiting)["status"] == "succeeded"
    assert api.job(skip_failed)["status"] == "failed"  # skipped, not run again
    reruns = wait_until(
        lambda: [j for j in _history(api, hook_id) if j.get("replayOf") == rerun_failed],
        what="the rerun of the failed event",
    )
    assert api.wait_job(reruns[0]["jobId"])["status"] == "succeeded"
    assert page.csp_violations() == []


def _history(api: Api, hook_id: str) -> list[dict]:
    answer = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs", headers=api.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()["jobs"]
