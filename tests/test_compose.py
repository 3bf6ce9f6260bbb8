"""compose.yaml cannot run here (no Docker engine), so check it carefully."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_it_describes_redis_web_workers_and_flower() -> None:
    services = load()["services"]
    assert {"redis", "web", "console", "worker", "callbacks", "shadow", "flower"} <= set(services)


def test_redis_uses_the_shipped_config_with_a_volume_and_healthcheck() -> None:
    redis = load()["services"]["redis"]
    assert "./config/redis.conf:/usr/local/etc/redis/redis.conf:ro" in redis["volumes"]
    assert "/usr/local/etc/redis/redis.conf" in redis["command"]
    assert any(v.startswith("redis-data:") for v in redis["volumes"])
    assert redis["healthcheck"]["test"][-1] == "ping"
    conf = (ROOT / "config/redis.conf").read_text()
    assert re.search(r"^appendonly yes$", conf, re.M)
    assert re.search(r"^maxmemory-policy noeviction$", conf, re.M)


def test_hooklet_services_build_the_image_and_wait_for_redis() -> None:
    services = load()["services"]
    for name in ("web", "console", "worker", "callbacks", "shadow", "flower"):
        service = services[name]
        assert service["build"] == ".", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
        env = service["environment"]
        assert env["HOOKLET_REDIS_URL"] == "redis://redis:6379/0", name
        assert "HOOKLET_ADMIN_TOKEN" in env, name
    assert (ROOT / "Dockerfile").is_file()


def test_commands_point_at_real_entry_points() -> None:
    services = load()["services"]
    web = services["web"]["command"]
    assert web[:3] == ["gunicorn", "-c", "config/gunicorn.conf.py"]
    module, attr = web[3].split(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file() and attr == "app"
    assert services["web"]["ports"] == ["8000:8000"]
    console = services["console"]["command"]
    assert console[:3] == ["gunicorn", "-c", "config/gunicorn.console.conf.py"]
    assert (ROOT / console[2]).is_file()
    module, attr = console[3].split(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file() and attr == "app"
    assert services["console"]["ports"] == ["8001:8001"]  # its own origin
    queues = (("worker", "scripts.sync,scripts"), ("callbacks", "callbacks"), ("shadow", "shadow"))
    for name, queue in queues:
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "workers", "worker"]
        assert command[command.index("-Q") + 1] == queue
    flower = services["flower"]["command"]
    assert flower[:4] == ["celery", "-A", "workers", "flower"]
    assert any(arg.startswith("--basic-auth=") for arg in flower)
    assert services["flower"]["ports"] == ["5555:5555"]


def test_procfile_runs_the_same_processes() -> None:
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(procfile) == {"redis", "web", "console", "worker", "callbacks", "shadow", "flower"}
    assert shlex.split(procfile["web"])[-1] == "app.wsgi:app"
    assert shlex.split(procfile["console"])[-1] == "app.console.wsgi:app"


# -- the memory budget, scaling workers and the HA variant (issue 16) ---------


def _merged(base: dict, override: dict) -> dict:
    """Compose's merge of an override file (maps merge, the rest replaces)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def load_ha() -> dict:
    return _merged(load(), yaml.safe_load((ROOT / "compose.ha.yaml").read_text()))


def _flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_redis_runs_with_a_memory_budget() -> None:
    for compose in (load(), load_ha()):
        for name in ("redis", "redis-replica"):
            if name in compose["services"]:
                command = compose["services"][name]["command"]
                assert _flag(command, "--maxmemory") == "${HOOKLET_REDIS_MAXMEMORY:-1gb}", name
    assert "--maxmemory ${HOOKLET_REDIS_MAXMEMORY" in (ROOT / "Procfile").read_text()
    assert "HOOKLET_REDIS_MAXMEMORY" in (ROOT / "scripts/run").read_text()


def test_workers_scale() -> None:
    """`docker compose up --scale worker=N` needs no fixed name or host port."""
    for compose in (load(), load_ha()):
        worker = compose["services"]["worker"]
        assert "container_name" not in worker and "ports" not in worker
        assert "%h" in _flag(worker["command"], "-n")  # a distinct node name per container


def test_ha_variant_has_a_primary_a_replica_and_three_sentinels() -> None:
    from workers.store.connection import parse_sentinel_url

    services = load_ha()["services"]
    replica = services["redis-replica"]["command"]
    assert replica[replica.index("--replicaof") + 1 : replica.index("--replicaof") + 3] == [
        "redis",
        "6379",
    ]
    sentinels = sorted(name for name in services if name.startswith("sentinel-"))
    assert sentinels == ["sentinel-1", "sentinel-2", "sentinel-3"]
    for name in sentinels:
        script = services[name]["command"][-1]
        monitor = re.search(r"sentinel monitor (\S+) (\S+) (\d+) (\d+)", script)
        assert monitor and monitor.groups() == ("hooklet", "redis", "6379", "2"), name
        assert "resolve-hostnames yes" in script
        assert services[name]["healthcheck"]["test"][-1] == "ping"
    for name in ("web", "console", "worker", "callbacks", "shadow", "flower"):
        env = services[name]["environment"]
        nodes = parse_sentinel_url(env["HOOKLET_REDIS_URL"]).nodes
        assert nodes == [(s, 26379) for s in sentinels], name
        assert env["HOOKLET_REDIS_SENTINEL_MASTER"] == "hooklet", name
        assert env["HOOKLET_REDIS_WAIT_REPLICAS"] == "1", name
        assert "HOOKLET_ADMIN_TOKEN" in env, name  # the base file's settings are kept
        deps = services[name]["depends_on"]
        assert {"redis", *sentinels} <= set(deps), name


# -- traces (issue 26) ----------------------------------------------------------


def test_an_optional_trace_viewer_takes_otlp_under_the_tracing_profile() -> None:
    services = load()["services"]
    jaeger = services["jaeger"]
    assert jaeger["profiles"] == ["tracing"]  # not started by a plain `up`
    assert "depends_on" not in jaeger  # hooklet runs whether or not it is there
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert "4318:4318" in jaeger["ports"] and "16686:16686" in jaeger["ports"]
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    for name in ("web", "console", "worker", "callbacks", "shadow", "flower"):
        env = services[name]["environment"]
        # Empty unless the operator sets it: tracing stays off by default.
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}", name
