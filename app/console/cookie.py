"""The console's session cookie name, and keeping that cookie away from hooks.

Browsers do not separate cookies by port: a console on ``localhost:8001``
and the intake on ``localhost:8000`` share the host's cookies. The intake
drops the console's cookie from what it records and gives to scripts, so a
hook can never see (and replay) an admin's session; and it drops any
``Set-Cookie`` a hook answers with that names the console's cookie, so a
hook's page can never overwrite (clobber or fixate) that session.
"""

from __future__ import annotations

__all__ = ["CONSOLE_COOKIE", "SET_COOKIE_HEADERS", "sets_console_cookie", "without_console_cookie"]

CONSOLE_COOKIE = "hooklet_console"


def without_console_cookie(header: str) -> str:
    """A ``Cookie`` header without the console's session cookie."""
    kept = [
        part
        for part in header.split(";")
        if part.strip().split("=", 1)[0].strip() != CONSOLE_COOKIE
    ]
    return ";".join(kept).strip()


SET_COOKIE_HEADERS = frozenset({"set-cookie", "set-cookie2"})


def sets_console_cookie(value: str) -> bool:
    """Whether a ``Set-Cookie`` value could set the console's cookie. Broad on
    purpose: any mention of the name in the cookie's name-value pair, in any
    case, counts. A browser trims the name, stores ``=hooklet_console=x``
    (no name) as a nameless cookie that it sends back as
    ``hooklet_console=x``, and a proxy may fold two cookies into one header
    with a comma; ``__Host-``/``__Secure-`` prefixes only add to the name."""
    pair = value.split(";", 1)[0]
    return CONSOLE_COOKIE in "".join(pair.split()).lower()
