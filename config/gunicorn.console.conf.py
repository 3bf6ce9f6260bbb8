"""Gunicorn settings for the console (``gunicorn -c config/gunicorn.console.conf.py
app.console.wsgi:app``): its own bind, so it never shares an origin with /h/."""

import os

bind = os.environ.get("HOOKLET_CONSOLE_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("HOOKLET_CONSOLE_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("HOOKLET_CONSOLE_THREADS", "8"))
timeout = 60
graceful_timeout = int(os.environ.get("HOOKLET_GRACEFUL_TIMEOUT_S", "20"))
keepalive = 5
accesslog = os.environ.get("HOOKLET_CONSOLE_ACCESS_LOG", "-") or None
logger_class = "app.access_log.AccessLogger"


def worker_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn hook
    """Write the worker's last second of console stats (a replay's event)."""
    from workers.store.stats.buffer import flush_process_buffers

    flush_process_buffers()
