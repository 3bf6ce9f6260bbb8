"""Gunicorn settings for hooklet's web process (``gunicorn -c config/gunicorn.conf.py``)."""

import os

bind = os.environ.get("HOOKLET_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HOOKLET_WEB_WORKERS", "2"))
# Sync hooks block a thread while their job runs: threads keep waits cheap.
worker_class = "gthread"
threads = int(os.environ.get("HOOKLET_WEB_THREADS", "16"))
timeout = 90
# scripts/run sets 4: honcho kills whatever still runs 5 s after Ctrl-C.
graceful_timeout = int(os.environ.get("HOOKLET_GRACEFUL_TIMEOUT_S", "20"))
keepalive = 5
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn hook
    """Load the hooks declared under HOOKLET_HOOKS_DIR once, in the master."""
    hooks_dir = os.environ.get("HOOKLET_HOOKS_DIR")
    if not hooks_dir:
        return
    import time

    from app.hook_files import load_hook_files
    from workers.hooks import HookStore
    from workers.redis_client import connect
    from workers.settings import load_settings

    settings = load_settings()
    for attempt in range(30):  # Redis may still be starting
        try:
            hooks = load_hook_files(hooks_dir, HookStore(connect(settings.redis_url)), settings)
            server.log.info("loaded %d hook(s) from %s", len(hooks), hooks_dir)
            return
        except OSError as exc:
            server.log.info("waiting for Redis to load hooks (%s)", exc)
        except Exception as exc:  # noqa: BLE001
            if "Connection" not in type(exc).__name__ or attempt == 29:
                server.log.error("could not load hooks from %s: %s", hooks_dir, exc)
                return
        time.sleep(1)
