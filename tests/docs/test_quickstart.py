"""The README's first hook, Getting started, Hooks and the CLI page: their
shell blocks run as written against a real stack (gunicorn, a Celery worker,
Redis), with the example hooks loaded as scripts/run loads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.blocks import block
from tests.docs.run import run_block
from tests.support.stack import ADMIN_TOKEN, Api

pytestmark = pytest.mark.stack


# Each name is a block marked '<!-- tested: NAME -->' and what its output must hold.
CURL_BLOCKS = {
    "readme-async": ["HTTP/1.1 202", '"jobId"', '"status"'],
    "readme-first-hook": ["hi ada"],
    "getting-started-try-it": ["HTTP/1.1 202", "Hello, you!"],
    "getting-started-poll": ['"status"', '"hookId":"echo"'],
    "getting-started-first-hook": ["hi ada", '"greet"'],
    "hooks-crud": ["hi ada", '"greet"'],
    "hooks-drafts": [
        "\nhi ada\n",  # the draft is not served
        '"differs"',  # the draft tried on the recorded event
        "\nhello ada\n",  # promoted
        '"restoredVersion":',
        "\nhi bob\n",  # rolled back
        '"timeoutMs":5000,',  # patched
    ],
}


@pytest.mark.parametrize("name", sorted(CURL_BLOCKS))
def test_curl_block_runs_as_written(name: str, reader_dir: Path, api: Api) -> None:
    result = run_block(block(name), reader_dir, base_url=api.base)
    for expected in CURL_BLOCKS[name]:
        assert expected in result.stdout, f"{name}: {expected!r} not in\n{result.stdout}"


def test_cli_block_runs_as_written(reader_dir: Path, api: Api) -> None:
    result = run_block(
        block("cli"),
        reader_dir,
        env={"HOOKLET_URL": api.base, "HOOKLET_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    assert "succeeded" in result.stdout, result.stdout
