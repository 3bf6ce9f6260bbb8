"""The console's ``/ui/api``: the OpenAPI document rendered by the vendored
Swagger UI, in a real browser, under the console's strict CSP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console.browser import Page
from tests.console.conftest import Console

pytestmark = pytest.mark.stack


def test_the_api_reference_renders_every_operation_without_csp_violations(
    browser,  # noqa: ANN001
    console: Console,
    screenshots: Path,
) -> None:
    page = Page(browser, console.url, screenshots)
    page.open("/ui/api")
    page.sign_in()
    page.open("/ui/api")
    page.find(".swagger-ui .information-container")
    page.wait(lambda: page.count(".opblock") >= 40, what="every operation listed")
    assert "createHook" in browser.page_source or page.count(".opblock-summary-path") >= 40
    page.shot("api-reference")
    assert page.csp_violations() == []
