"""Worker nodes' reports in Redis (the fleet view's source), against a real
redis-server: the latest report per node, and a node that stopped reporting
leaves the view."""

from __future__ import annotations

import time

from tests.support.stack import RedisServer
from workers.store import keys
from workers.store.nodes import REPORT_EVERY_S, read_reports, write_report


def report(name: str, at: float, active: int = 0) -> dict:
    return {
        "name": name,
        "pid": 1,
        "concurrency": 2,
        "processes": [10, 11],
        "active": active,
        "processed": 5,
        "uptimeS": 3,
        "at": at,
    }


def test_the_latest_report_of_each_node_that_still_reports(own_redis: RedisServer) -> None:
    client = own_redis.client()
    client.flushdb()
    now = time.time()
    write_report(client, report("scripts@b", now, active=1))
    write_report(client, report("scripts@b", now, active=2))
    write_report(client, report("callbacks@a", now))
    assert [(r["name"], r["active"]) for r in read_reports(client)] == [
        ("callbacks@a", 0),
        ("scripts@b", 2),
    ]
    # A node killed mid-report: its last report is too old to show.
    client.zadd(keys.nodes(), {"scripts@gone": now - 10 * REPORT_EVERY_S})
    client.set(keys.node("scripts@gone"), b"{}")
    assert "scripts@gone" not in [r["name"] for r in read_reports(client)]
    # Each report expires on its own, too.
    assert 0 < client.ttl(keys.node("scripts@b")) <= 3 * REPORT_EVERY_S
