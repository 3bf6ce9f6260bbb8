"""/metrics with a ``project`` label (issue 23 item 5): hooks per project,
and maxHooks refusals counted by project and quota. Before, /metrics had no
project label at all."""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient

from tests.app.test_metrics import scrape, value

SCRIPT = "(async () => ({ statusCode: 200 }))()"


def test_hooks_per_project_and_max_hooks_refusals(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    project = f"m-{uuid.uuid4().hex[:8]}"
    body = {"id": project, "name": project, "quotas": {"maxHooks": 2}}
    assert client.post("/api/projects", json=body, headers=admin).status_code == 201
    for n in range(3):
        answer = client.put(
            f"/api/hooks/{project}-{n}", json={"script": SCRIPT, "project": project}, headers=admin
        )
        assert answer.status_code == (201 if n < 2 else 422), answer.text

    samples = scrape(client)
    assert value(samples, "hooklet_project_hooks", project=project) == 2
    assert value(samples, "hooklet_project_hooks", project="default") >= 0
    refusals = value(samples, "hooklet_quota_refusals_total", project=project, quota="maxHooks")
    assert refusals == 1
