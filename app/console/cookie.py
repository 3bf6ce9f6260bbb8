"""The console's session cookie name, and keeping that cookie away from hooks.

Browsers do not separate cookies by port: a console on ``localhost:8001``
and the intake on ``localhost:8000`` share the host's cookies. The intake
drops the console's cookie from what it records and gives to scripts, so a
hook can never see (and replay) an admin's session.
"""

from __future__ import annotations

__all__ = ["CONSOLE_COOKIE", "without_console_cookie"]

CONSOLE_COOKIE = "hooklet_console"


def without_console_cookie(header: str) -> str:
    """A ``Cookie`` header without the console's session cookie."""
    kept = [
        part
        for part in header.split(";")
        if part.strip().split("=", 1)[0].strip() != CONSOLE_COOKIE
    ]
    return ";".join(kept).strip()
