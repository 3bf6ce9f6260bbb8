"""A project's ``maxConcurrent`` on the real stack (issue 23 item 5): with
``maxConcurrent: 1`` and a worker node of 2 children, a burst of a slow
hook's events runs one at a time (no two runs' recorded start-finish spans
overlap), and every event still ends succeeded: a held job is taken later,
none waits for a token that never comes. Before, the 2 children ran two at
once."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.stack import Api

pytestmark = pytest.mark.stack

SLOW = """(async () => {
  const until = Date.now() + 150;
  while (Date.now() < until) {}
  return { statusCode: 200 };
})()"""


def test_max_concurrent_runs_a_projects_jobs_one_at_a_time(api: Api) -> None:
    project = f"c-{uuid.uuid4().hex[:8]}"
    body = {"id": project, "name": project, "quotas": {"maxConcurrent": 1}}
    answer = requests.post(f"{api.base}/api/projects", json=body, headers=api.admin, timeout=10)
    assert answer.status_code == 201, answer.text
    hooks = [f"{project}-a", f"{project}-b"]
    for hook in hooks:
        api.put_hook(hook, script=SLOW, mode="async", project=project)

    sent = [api.send(hooks[n % 2], data=b"{}") for n in range(8)]
    assert all(r.status_code == 202 for r in sent)
    jobs = [api.wait_job(r.json()["jobId"], timeout_s=60) for r in sent]
    assert all(job["status"] == "succeeded" for job in jobs), jobs

    spans = sorted((job["startedAt"], job["finishedAt"]) for job in jobs)
    for (_, finished), (started, _) in zip(spans, spans[1:], strict=False):
        assert started >= finished, spans
