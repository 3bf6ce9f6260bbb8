"""Polling: ``GET /jobs/<id>``, the sender's capability URL for one job."""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify

from app import services
from workers.errors import JobNotFound
from workers.store.jobs.view import render_job

__all__ = ["bp"]

bp = Blueprint("polling", __name__)
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def load_job(job_id: str) -> dict[bytes, bytes]:
    raw = services.dispatcher().jobs.get(job_id) if _JOB_ID.match(job_id) else None
    if raw is None:
        raise JobNotFound(f"no job {job_id!r} (jobs expire after their retention period)")
    return raw


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    return jsonify(render_job(load_job(job_id)))
