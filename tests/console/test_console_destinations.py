"""The console's fleet view lists callback destinations (issue 24, item 5)
with their breaker, in Chromium."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.console.browser import Page
from tests.console.conftest import Console
from tests.support.receiver import Receiver
from tests.support.stack import Api, Worker, wait_until
from workers.delivery.destinations import destination_of

pytestmark = pytest.mark.stack


def test_the_fleet_view_lists_callback_destinations(
    browser,  # noqa: ANN001
    console: Console,
    screenshots: Path,
    api: Api,
    callbacks_worker: Worker,
    receiver: Receiver,
) -> None:
    hook_id = f"dst-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, script="({ body: 'ok' })", callbackUrl=receiver.url)
    job = api.run(hook_id)
    wait_until(lambda: receiver.for_job(job["jobId"]), timeout_s=30, what="the callback")
    page = Page(browser, console.url, screenshots)
    page.sign_in()
    page.wait_text("#title", "Hooks")
    page.open("/ui/fleet")
    page.wait_text("#fleet", "Callback destinations")
    page.wait_text("#fleet", destination_of(receiver.url))
    page.shot("fleet-destinations")
    assert page.csp_violations() == []
