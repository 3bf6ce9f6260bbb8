"""Flower behind basic auth, and readiness with a worker (without one:
tests/app/test_health.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.support.stack import Api, start_flower, wait_until

pytestmark = pytest.mark.stack


def test_flower_requires_auth_and_lists_the_worker(api: Api, env: dict, workdir: Path) -> None:
    flower, base = start_flower(env, workdir, ("ops", "s3cret"))
    try:

        def status() -> int | None:
            try:
                return requests.get(f"{base}/", timeout=2).status_code
            except requests.RequestException:
                return None

        assert wait_until(status, timeout_s=30, what="flower") == 401
        assert requests.get(f"{base}/", auth=("ops", "wrong"), timeout=5).status_code == 401

        def worker_listed() -> bool:
            response = requests.get(
                f"{base}/api/workers?refresh=1", auth=("ops", "s3cret"), timeout=10
            )
            return response.status_code == 200 and any(
                name.startswith("scripts@") for name in response.json()
            )

        wait_until(worker_listed, timeout_s=30, interval_s=1, what="the worker in Flower")

        # Flower switches task events on, then shows tasks by name, args = job id only.
        hook_id = "flower-probe"
        api.put_hook(hook_id, script="({ body: 'secret-body-text' })", secrets={"k": "hidden"})

        def task_shown() -> dict | None:
            job_id = api.run(hook_id, data=b"request-body-text")["jobId"]
            response = requests.get(f"{base}/api/tasks", auth=("ops", "s3cret"), timeout=10)
            return response.json().get(job_id)

        task = wait_until(task_shown, timeout_s=60, interval_s=1, what="a task in Flower")
        assert task["name"] == "hooklet.run_script"
        shown = json.dumps(task)
        assert "request-body-text" not in shown and "hidden" not in shown
    finally:
        flower.terminate()
        flower.wait(10)


def test_readyz_is_ready_with_redis_and_a_worker(api: Api) -> None:
    body = requests.get(f"{api.base}/readyz", timeout=10).json()
    assert body["status"] == "ready" and any(w.startswith("scripts@") for w in body["workers"])
