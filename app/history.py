"""A hook's request history: ``GET /api/hooks/<id>/jobs`` and its HAR export."""

from __future__ import annotations

import base64
from importlib.metadata import version
from typing import Any

from flask import Blueprint, Response, jsonify, request

from app import access, services
from app.access import protect, scope
from workers.store.jobs.view import render_job

__all__ = ["bp", "to_har"]

bp = protect(Blueprint("history", __name__, url_prefix="/api"))


def _history(hook_id: str) -> list[dict[str, Any]]:
    dispatcher = services.dispatcher()
    access.hook(hook_id)  # 404 for an unknown hook, or another project's
    ids = dispatcher.jobs.history_ids(hook_id)
    return [render_job(raw, admin=True) for raw in dispatcher.jobs.get_many(ids)]


@bp.get("/hooks/<hook_id>/jobs")
@scope("jobs:read")
def list_jobs(hook_id: str) -> Response:
    """The last ``requestsToTrack`` jobs, newest first."""
    return jsonify({"jobs": _history(hook_id)})


@bp.get("/hooks/<hook_id>/jobs.har")
@scope("jobs:read")
def export_har(hook_id: str) -> Response:
    response = jsonify(to_har(hook_id, _history(hook_id), request.host_url.rstrip("/")))
    response.headers["Content-Disposition"] = f'attachment; filename="{hook_id}.har"'
    return response


def _pairs(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in mapping.items()]


def _content(body: str, encoding: str) -> tuple[dict[str, Any], int]:
    size = len(base64.b64decode(body)) if encoding == "base64" else len(body.encode())
    content: dict[str, Any] = {"text": body}
    if encoding == "base64":
        content["encoding"] = "base64"
    return content, size


def _entry(hook_id: str, job: dict[str, Any], base_url: str) -> dict[str, Any]:
    req = job["request"]
    url = f"{base_url}/h/{hook_id}{req['path']}" + (
        f"?{req['rawQuery']}" if req["rawQuery"] else ""
    )
    req_content, req_size = _content(req["body"], req["bodyEncoding"])
    request_har: dict[str, Any] = {
        "method": req["method"],
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(req["headers"]),
        "queryString": _pairs(req["query"]),
        "headersSize": -1,
        "bodySize": req_size,
    }
    if req_size:
        mime = req["headers"].get("content-type", "application/octet-stream")
        request_har["postData"] = {"mimeType": mime, **req_content}
    result = job["result"]
    if result is not None:
        status, headers = result["statusCode"], result["headers"]
        content, size = _content(result["body"], result["bodyEncoding"])
    else:
        status = 504 if job["reason"] == "timeout" else (500 if job["error"] else 0)
        headers = {"content-type": "text/plain"} if job["error"] else {}
        content, size = {"text": job["error"] or ""}, len((job["error"] or "").encode())
    mime = headers.get("content-type", "application/octet-stream")
    return {
        "startedDateTime": job["createdAt"],
        "time": job["durationMs"] or 0,
        "request": request_har,
        "response": {
            "status": status,
            "statusText": job["status"],
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(headers),
            "content": {"size": size, "mimeType": mime, **content},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": job["durationMs"] or 0, "receive": 0},
        "comment": f"job {job['jobId']}: {job['status']}"
        + (f" ({job['reason']})" if job["reason"] else ""),
    }


def _with_delivery(entry: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """HAR allows custom fields with a leading underscore: the callback
    delivery, with each attempt's detail (the admin view)."""
    if "delivery" in job:
        entry["_delivery"] = job["delivery"]
    return entry


def to_har(hook_id: str, jobs: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
    """HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/)."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "hooklet", "version": version("hooklet")},
            "entries": [
                _with_delivery(_entry(hook_id, job, base_url), job)
                for job in jobs
                if "request" in job
            ],
        }
    }
