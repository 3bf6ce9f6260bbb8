"""The console's WSGI entry point: ``gunicorn app.console.wsgi:app``, on its
own bind (``HOOKLET_CONSOLE_BIND``, see config/gunicorn.console.conf.py)."""

from app.console import create_console_app

app = create_console_app()
