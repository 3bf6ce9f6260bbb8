"""Hooklet's web side: intake, polling, the admin API, health and metrics."""

from __future__ import annotations

from flask import Flask

from workers.settings import Settings, load_settings
from workers.store.redis_version import require_redis

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    require_redis(settings)  # refuses a Redis older than 7 (RedisTooOld), naming both
    app = Flask(__name__)
    app.config["HOOKLET"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # The admin API's own bodies; the intake enforces max_body_bytes itself.
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_body_bytes, 1024 * 1024) + 64 * 1024

    from app import (
        admin,
        dry_run,
        errors,
        fleet,
        health,
        history,
        intake,
        jobs_api,
        metrics,
        openapi,
        polling,
        routes,
        stats_api,
    )

    errors.init_app(app)
    for module in (intake, polling, admin, history, dry_run, fleet, health, metrics, routes):
        app.register_blueprint(module.bp)
    app.register_blueprint(jobs_api.bp)
    app.register_blueprint(stats_api.bp)
    app.register_blueprint(openapi.bp)
    from app import audit_api, draft_try, drafts_api, kv_api, projects_api, tokens_api

    for module in (projects_api, tokens_api, audit_api, kv_api, drafts_api, draft_try):
        app.register_blueprint(module.bp)
    from app import destinations_api  # callback destinations (issue 24)

    app.register_blueprint(destinations_api.bp)
    from app import ordering_api  # blocked ordering keys (issue 24)

    app.register_blueprint(ordering_api.bp)
    from app import shadow_api  # shadow runs' results (issue 25)

    app.register_blueprint(shadow_api.bp)
    return app
