"""A project's ``kvBytes`` (issue 23 item 5): the sum of its hooks' KV
bytes, checked in the KV set Lua. A write that would take the project past
it is refused (422 ``kv_refused`` from the API, an Error in a script),
counted in /metrics by project; shrinking a value and other projects' KV
are unaffected. Before, the quota was stored and never applied."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.app.test_metrics import scrape, value
from tests.support.fast import assert_error, put_hook, send

SCRIPT = "(async () => ({ statusCode: 200 }))()"


def _value(size: int) -> dict[str, str]:
    return {"value": base64.urlsafe_b64encode(b"x" * size).rstrip(b"=").decode()}


def _project(client: FlaskClient, admin: dict[str, str], quotas: dict[str, int]) -> str:
    project = f"k-{uuid.uuid4().hex[:8]}"
    body = {"id": project, "name": project, "quotas": quotas}
    assert client.post("/api/projects", json=body, headers=admin).status_code == 201
    return project


def test_kv_bytes_is_the_sum_over_the_projects_hooks(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    project = _project(client, admin, {"kvBytes": 100})
    other = _project(client, admin, {})
    for hook in (f"{project}-a", f"{project}-b", f"{other}-a"):
        put_hook(client, admin, hook, script=SCRIPT, project=hook.rsplit("-", 1)[0])

    def kv_put(hook: str, key: str, size: int) -> int:
        url = f"/api/hooks/{hook}/kv/{key}"
        return client.put(url, json=_value(size), headers=admin).status_code

    assert kv_put(f"{project}-a", "one", 60) in (200, 201, 204)
    refused = client.put(f"/api/hooks/{project}-b/kv/two", json=_value(50), headers=admin)
    assert_error(refused, 422, "kv_refused")
    assert "project" in refused.json["error"]["message"]
    assert kv_put(f"{project}-b", "two", 40) in (200, 201, 204)  # exactly 100
    assert kv_put(f"{project}-a", "one", 10) in (200, 201, 204)  # shrinking is fine
    assert kv_put(f"{project}-b", "three", 45) in (200, 201, 204)  # 10 + 40 + 45
    assert kv_put(f"{other}-a", "big", 500) in (200, 201, 204)  # another project's own

    samples = scrape(client)
    assert value(samples, "hooklet_quota_refusals_total", project=project, quota="kvBytes") == 1


def test_a_script_past_kv_bytes_gets_an_error(
    client: FlaskClient, admin: dict[str, str], run_job: Callable[[str], dict]
) -> None:
    project = _project(client, admin, {"kvBytes": 8})
    script = """(async () => {
      await secutils.kv.set('a', 'QUFBQUFB');  // 6 bytes
      try { await secutils.kv.set('b', 'QUFBQQ'); return { body: 'stored' }; }  // 4 more
      catch (e) { return { body: String(e.message) }; }
    })()"""
    hook = f"{project}-s"
    put_hook(client, admin, hook, script=script, mode="async", project=project)
    job = run_job(send(client, hook).json["jobId"])
    assert job["status"] == "succeeded", job
    assert "KV project size limit reached (8 bytes)" in job["result"]["body"]
