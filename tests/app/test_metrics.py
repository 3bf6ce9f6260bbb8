"""/metrics: scraped and parsed, before and after good and failing jobs (run
by the executor in the test process, which reports like a worker child).
That every gunicorn process answers alike is in tests/e2e/test_web_server.py."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fast import put_hook, send

Samples = dict[tuple[str, tuple], float]


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_follow_good_and_failing_jobs(
    client: FlaskClient, admin: dict[str, str], run_job: Callable[[str], dict], hook_id: str
) -> None:
    put_hook(
        client,
        admin,
        hook_id,
        script="context.query.fail ? (() => { while (true) {} })() : null",
        limits={"timeoutMs": 200},
    )
    before = scrape(client)
    for query in ({"fail": "1"}, {}, {}, {}):
        run_job(send(client, hook_id, query_string=query).json["jobId"])
    send(client, "no-such-hook-for-metrics")
    after = scrape(client)

    def grew(name: str, by: float, **labels: str) -> None:
        assert value(after, name, **labels) - value(before, name, **labels) == by, (name, labels)

    grew("hooklet_events_received_total", 4, hook=hook_id, outcome="accepted")
    grew("hooklet_events_received_total", 1, hook="_unknown", outcome="hook_not_found")
    grew("hooklet_jobs_finished_total", 3, hook=hook_id, status="succeeded")
    grew("hooklet_jobs_finished_total", 1, hook=hook_id, status="failed")
    grew("hooklet_script_terminations_total", 1, hook=hook_id, reason="timeout")
    grew("hooklet_script_duration_seconds_count", 4, hook=hook_id)
    assert value(after, "hooklet_script_duration_seconds_bucket", hook=hook_id, le="+Inf") == 4
    assert value(after, "hooklet_script_duration_seconds_bucket", hook=hook_id, le="0.1") == 3
    assert value(after, "hooklet_script_duration_seconds_sum", hook=hook_id) >= 0.2
    assert ("hooklet_queue_depth", (("queue", "scripts"),)) in after
    assert ("hooklet_jobs_in_flight", ()) in after
    rss = [v for (name, _), v in after.items() if name == "hooklet_worker_child_rss_bytes"]
    assert rss and all(v > 10 * 2**20 for v in rss)
    warm = [v for (name, _), v in after.items() if name == "hooklet_worker_child_warm_isolates"]
    assert len(warm) == len(rss) and max(warm) >= 1  # the last job's isolate stays warm
    assert not any("path" in dict(labels) for _, labels in after)
