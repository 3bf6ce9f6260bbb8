"""Issue 20 item 9: a hook cannot set the console's session cookie.

Browsers do not separate cookies by port, so a hook's answer on the intake
(``localhost:8000``) that carried ``Set-Cookie: hooklet_console=...`` would
overwrite an admin's console session (``localhost:8001``). The intake drops
such a header, however it is spelled, from a real script's answer and from
a hook's static response; other cookies pass."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from app.console.cookie import sets_console_cookie
from tests.support.stack import Api

pytestmark = pytest.mark.stack

SCRIPT = """(async () => ({
  statusCode: 200,
  headers: { "content-type": "text/plain", "Set-Cookie": context.query.cookie },
  body: "ok",
}))();"""

# What a browser would take as (or send back as) the console's cookie.
CONSOLE_COOKIES = [
    "hooklet_console=from-hook; Path=/",
    "hooklet_console=from-hook",
    " \thooklet_console =from-hook; Path=/ui/; HttpOnly",
    "HOOKLET_CONSOLE=from-hook",
    "=hooklet_console=from-hook; Path=/",  # nameless: sent back as hooklet_console=...
    "hooklet_console",
    "theme=dark, hooklet_console=from-hook; Path=/",  # two cookies folded with a comma
    "__Host-hooklet_console=from-hook; Path=/; Secure",
    "__Secure-hooklet_console=from-hook; Secure",
]


def _set_cookies(answer) -> list[str]:  # noqa: ANN001 - a requests.Response
    return answer.raw.headers.getlist("Set-Cookie")


def test_a_script_cannot_set_the_console_cookie(api: Api, hook_id: str) -> None:
    api.put_hook(hook_id, mode="sync", script=SCRIPT)
    for cookie in CONSOLE_COOKIES:
        answer = api.send(hook_id, f"?cookie={quote(cookie)}", method="GET")
        assert answer.status_code == 200 and answer.text == "ok", (cookie, answer.text)
        assert _set_cookies(answer) == [], cookie
        assert "hooklet_console" not in answer.cookies.keys()
    # Any other cookie is the hook's business.
    answer = api.send(hook_id, f"?cookie={quote('theme=dark; Path=/')}", method="GET")
    assert _set_cookies(answer) == ["theme=dark; Path=/"]


def test_a_static_response_cannot_set_the_console_cookie(api: Api, hook_id: str) -> None:
    api.put_hook(
        hook_id,
        mode="sync",
        script="null",  # all defaults: the static response, headers included
        response={"statusCode": 200, "headers": {"Set-Cookie": "hooklet_console=x"}, "body": "s"},
    )
    answer = api.send(hook_id)
    assert answer.status_code == 200 and answer.text == "s"
    assert _set_cookies(answer) == []


def test_only_cookies_naming_the_console_cookie_are_dropped() -> None:
    for cookie in CONSOLE_COOKIES:
        assert sets_console_cookie(cookie), cookie
    for cookie in ("theme=dark", "session=abc; Path=/", "a=hooklet; Path=/console"):
        assert not sets_console_cookie(cookie), cookie
