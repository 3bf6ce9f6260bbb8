"""The issue's "done when": a client generated from ``/api/openapi.json``
by a standard generator (openapi-python-client, offline, into a temporary
folder) creates a hook, sends an event and reads its job."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import ADMIN_TOKEN, BIN, Api, wait_until

pytestmark = pytest.mark.stack

_PACKAGE = "hooklet_generated_client"


def _generate(api: Api, folder: Path) -> None:
    document = folder / "openapi.json"
    response = api.http.get(f"{api.base}/api/openapi.json", timeout=10)
    assert response.status_code == 200
    document.write_bytes(response.content)
    subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(folder / _PACKAGE),
            "--meta",
            "none",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_a_generated_client_creates_a_hook_sends_an_event_and_reads_its_job(
    api: Api, hook_id: str, tmp_path: Path
) -> None:
    _generate(api, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        client_module = importlib.import_module(_PACKAGE)
        create_hook = importlib.import_module(f"{_PACKAGE}.api.hooks.create_hook")
        send_event = importlib.import_module(f"{_PACKAGE}.api.intake.send_event")
        get_job = importlib.import_module(f"{_PACKAGE}.api.intake.get_job")
        models = importlib.import_module(f"{_PACKAGE}.models")
    finally:
        sys.path.remove(str(tmp_path))

    admin = client_module.AuthenticatedClient(base_url=api.base, token=ADMIN_TOKEN)
    definition = {
        "id": hook_id,
        "script": "(() => { const e = JSON.parse(String.fromCharCode(...context.body));"
        " return { statusCode: 200, body: { doubled: e.n * 2 } }; })()",
    }
    created = create_hook.sync_detailed(
        client=admin, body=models.CreateHookBody.from_dict(definition)
    )
    assert created.status_code == 201, created.content
    assert isinstance(created.parsed, models.Hook) and created.parsed.id == hook_id

    sender = client_module.Client(base_url=api.base)
    event = models.SendEventJsonBody.from_dict({"n": 21})
    sent = send_event.sync_detailed(hook_id, client=sender, body=event)
    assert sent.status_code == 202, sent.content
    assert isinstance(sent.parsed, models.Accepted)
    job_id = sent.parsed.job_id

    def finished() -> object:
        job = get_job.sync_detailed(job_id, client=sender)
        assert job.status_code == 200, job.content
        done = job.parsed.status in (models.JobStatus.SUCCEEDED, models.JobStatus.FAILED)
        return done and job.parsed

    job = wait_until(finished, timeout_s=30, what=f"job {job_id}")
    assert job.status == models.JobStatus.SUCCEEDED, job.error
    assert job.hook_id == hook_id
    assert job.result.status_code == 200 and job.result.body == '{"doubled":42}'
