"""A small HTTP client of hooklet's admin API and intake for tests and
benchmarks: admin calls carry the stack's admin token."""

from __future__ import annotations

from typing import Any

import requests

from stackkit.env import ADMIN_TOKEN
from stackkit.processes import wait_until

__all__ = ["Api"]


class Api:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def put_hook(self, hook_id: str, **definition: Any) -> dict:
        response = self.http.put(
            f"{self.base}/api/hooks/{hook_id}", json=definition, headers=self.admin, timeout=10
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def send(self, hook_id: str, path: str = "", **kwargs: Any) -> requests.Response:
        kwargs.setdefault("method", "POST")
        kwargs.setdefault("timeout", 30)
        return self.http.request(url=f"{self.base}/h/{hook_id}{path}", **kwargs)

    def job(self, job_id: str) -> dict:
        response = self.http.get(f"{self.base}/jobs/{job_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_job(self, job_id: str, timeout_s: float = 30) -> dict:
        final = ("succeeded", "failed")
        return wait_until(
            lambda: (j := self.job(job_id))["status"] in final and j,
            timeout_s=timeout_s,
            interval_s=0.05,
            what=f"job {job_id}",
        )

    def run(self, hook_id: str, path: str = "", timeout_s: float = 30, **kwargs: Any) -> dict:
        """Send an event to an async hook and wait for its job to end."""
        response = self.send(hook_id, path, **kwargs)
        assert response.status_code == 202, response.text
        return self.wait_job(response.json()["jobId"], timeout_s)
