"""The console: hooklet in the browser, on its own origin.

``create_console_app`` builds a second Flask app, served by its own gunicorn
bind (``HOOKLET_CONSOLE_BIND``): the pages under ``/ui/``, their static files
and the admin API they call, behind a session cookie. It never serves
``/h/``: a hook's script can answer with HTML, JavaScript and cookies, so
nothing that trusts the console's session shares an origin with hooks.
"""

from __future__ import annotations

from flask import Flask

from workers.settings import Settings, load_settings

__all__ = ["create_console_app"]


def create_console_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, static_url_path="/ui/static")
    app.config["HOOKLET"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_body_bytes, 1024 * 1024) + 64 * 1024

    from app import admin, dry_run, errors, fleet, health, history, jobs_api, stats_api
    from app.console import pages, security

    errors.init_app(app)
    security.init_app(app, settings)
    for module in (pages, admin, history, dry_run, fleet, jobs_api, stats_api, health):
        app.register_blueprint(module.bp)
    from app import destinations_api  # the fleet view lists destinations

    app.register_blueprint(destinations_api.bp)
    from app import ordering_api  # the jobs view's blocked keys

    app.register_blueprint(ordering_api.bp)
    from app import draft_try, drafts_api, shadow_api  # the editor's drafts panel

    for module in (drafts_api, draft_try, shadow_api):
        app.register_blueprint(module.bp)
    return app
