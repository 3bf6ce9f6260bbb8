"""Issue 13 #6: the public job view shows a delivery attempt's error only as
a short category; the admin view keeps the detail."""

from __future__ import annotations

import orjson

from workers.store.jobs.view import render_job

ATTEMPTS = [
    {
        "at": "2026-01-01T00:00:00.000+00:00",
        "error": "connection refused",
        "errorDetail": "Failed to connect to upstream: http://10.0.0.7:9000/cb: [Errno 111]",
        "outcome": "pending",
    },
    {"statusCode": 500, "error": "HTTP 500", "errorDetail": "HTTP 500: boom", "outcome": "pending"},
    # written before categories existed: the raw exception text
    {"error": "HTTPConnectionPool(host='10.0.0.7', port=9000): Max retries", "outcome": "failed"},
    {"statusCode": 200, "outcome": "succeeded"},
]


def job() -> dict[bytes, bytes]:
    return {
        b"id": b"j1",
        b"hookId": b"h",
        b"status": b"succeeded",
        b"deliveryStatus": b"succeeded",
        b"deliveries": orjson.dumps(ATTEMPTS),
    }


def test_the_public_view_shows_categories_only() -> None:
    attempts = render_job(job())["delivery"]["attempts"]
    assert [a.get("error") for a in attempts] == ["connection refused", "HTTP 500", "error", None]
    assert all("errorDetail" not in a for a in attempts)
    assert "10.0.0.7" not in orjson.dumps(render_job(job())).decode()


def test_the_admin_view_keeps_the_detail() -> None:
    attempts = render_job(job(), admin=True)["delivery"]["attempts"]
    assert attempts == ATTEMPTS
