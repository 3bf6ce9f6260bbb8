"""The console's security: every page and API call refuses a missing or wrong
session, changes need the CSRF token, a hostile hook page in the same browser
can neither read nor change anything nor sign in as the admin, nothing from
a request or a log is rendered as HTML, and secrets never reach a page."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import requests

from tests.console.browser import Page
from tests.console.conftest import Console, sign_in
from tests.support.stack import ADMIN_TOKEN, Api, Web

pytestmark = pytest.mark.stack

PAGES = ["/ui/hooks", "/ui/hooks/new", "/ui/hooks/x/history", "/ui/jobs", "/ui/charts", "/ui/fleet"]
CALLS = [
    ("GET", "/api/hooks"),
    ("GET", "/api/jobs"),
    ("GET", "/api/stats"),
    ("GET", "/api/workers"),
    ("PUT", "/api/hooks/intruder"),
    ("POST", "/api/jobs/replay"),
    ("DELETE", "/api/hooks/intruder"),
]


def test_pages_and_api_refuse_a_missing_or_wrong_session(console: Console) -> None:
    base = console.loopback_url
    forged = {"hooklet_console": "eyJhZG1pbiI6dHJ1ZX0.Zm9yZ2Vk.c2lnbmF0dXJl"}
    for cookies in ({}, forged):
        for path in PAGES:
            answer = requests.get(base + path, cookies=cookies, allow_redirects=False, timeout=10)
            assert answer.status_code == 302, path
            assert answer.headers["Location"].startswith("/ui/sign-in")
        for method, path in CALLS:
            answer = requests.request(method, base + path, cookies=cookies, json={}, timeout=10)
            assert answer.status_code == 401, (method, path, answer.text)
    # The bearer token of the CLI is not a console session.
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert requests.get(f"{base}/api/hooks", headers=bearer, timeout=10).status_code == 401
    # And the console never serves hooks or job polling.
    assert requests.post(f"{base}/h/anything", timeout=10).status_code == 404


def test_changes_need_the_csrf_token(console: Console) -> None:
    base = console.loopback_url
    http, csrf = sign_in(base)
    assert http.get(f"{base}/api/hooks", timeout=10).status_code == 200
    hook = {"script": "(async () => ({ body: 'x' }))();"}
    hook_id = f"csrf-{uuid.uuid4().hex[:8]}"
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        answer = http.put(f"{base}/api/hooks/{hook_id}", json=hook, headers=headers, timeout=10)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "csrf_failed"
    # A request a browser marks as coming from another origin is refused too.
    answer = http.put(
        f"{base}/api/hooks/{hook_id}",
        json=hook,
        headers={
            "X-CSRF-Token": csrf,
            "Origin": "http://127.0.0.1:1",
            "Sec-Fetch-Site": "same-site",
        },
        timeout=10,
    )
    assert answer.status_code == 403
    answer = http.put(
        f"{base}/api/hooks/{hook_id}", json=hook, headers={"X-CSRF-Token": csrf}, timeout=10
    )
    assert answer.status_code == 201
    # Sign-out needs the token too, then the session is gone.
    assert http.post(f"{base}/ui/sign-out", data={}, timeout=10).status_code == 403
    http.post(f"{base}/ui/sign-out", data={"csrf": csrf}, timeout=10)
    assert http.get(f"{base}/api/hooks", timeout=10).status_code == 401


def test_console_answers_carry_a_strict_policy(console: Console) -> None:
    http, _ = sign_in(console.loopback_url)
    answer = http.get(f"{console.loopback_url}/ui/hooks", timeout=10)
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in answer.text  # no inline script: only <script src=...>
    cookie = requests.Session()
    page = cookie.get(f"{console.loopback_url}/ui/sign-in", timeout=10)
    set_cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert "Domain=" not in set_cookie  # host-only


HOSTILE = r"""(async () => {
  const cookie = context.headers.cookie || "";
  const page = `<!doctype html><html><head><title>hostile</title></head><body>
<pre id="seen">${cookie.replace(/</g, "&lt;")}</pre><pre id="report"></pre>
<script>
(async () => {
  const console_ = new URLSearchParams(location.search).get("console");
  const out = [];
  try {
    const r = await fetch(console_ + "/api/hooks", { credentials: "include" });
    out.push("read:" + r.status + ":" + (await r.text()).slice(0, 80));
  } catch (e) { out.push("read-blocked"); }
  try {
    await fetch(console_ + "/api/hooks/pwned", { method: "PUT", mode: "no-cors",
      credentials: "include", headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ script: "1" }) });
    out.push("put-sent");
  } catch (e) { out.push("put-failed"); }
  try {
    const signOut = { method: "POST", mode: "no-cors", credentials: "include" };
    await fetch(console_ + "/ui/sign-out", signOut);
  } catch (e) {}
  document.cookie = "hooklet_console=stolen-session; path=/";
  out.push("cookies:" + document.cookie);
  document.getElementById("report").textContent = out.join(" | ");
  document.title = "done";
})();
</script></body></html>`;
  return { statusCode: 200, headers: { "content-type": "text/html",
    "set-cookie": "hooklet_console=from-hook; Path=/" }, body: page };
})();
"""


def test_a_hostile_hook_page_cannot_use_the_console_session(
    browser,
    console: Console,
    web: Web,
    api: Api,
    screenshots: Path,  # noqa: ANN001
) -> None:
    page = Page(browser, console.url, screenshots)
    page.sign_in()
    page.wait_text("#title", "Hooks")
    hook_id = f"hostile-{uuid.uuid4().hex[:8]}"
    api.put_hook(hook_id, mode="sync", script=HOSTILE)

    # The hook's page on the intake's origin, in the signed-in browser.
    for host in ("127.0.0.1", "localhost"):
        intake = web.url.replace("127.0.0.1", host)
        browser.get(f"{intake}/h/{hook_id}?console={console.url}")
        page.wait(lambda: browser.title == "done", what="the hostile page ran")
        report = page.text("#report")
        seen = page.text("#seen")
        page.shot(f"hostile-page-{host}")
        assert "read:" not in report  # CORS: the console's answers cannot be read
        assert "stolen" not in seen and "hooklet_console=ey" not in seen
        # The intake never hands the console's cookie to a script.
        assert not re.search(r"hooklet_console=[^;]*\.", seen), seen

    # Nothing was changed, and the admin was not signed out by the page's
    # requests; only the cookie it could overwrite on its own host is gone.
    assert (
        requests.get(f"{web.url}/api/hooks/pwned", headers=api.admin, timeout=10).status_code == 404
    )
    page.open("/ui/hooks")
    if "/ui/sign-in" in browser.current_url:
        # localhost:<intake> shares the console host's cookie jar (ports do not
        # separate cookies): the page could only clobber the session, never
        # use it. Signing in again works.
        page.sign_in()
    page.wait_text("#title", "Hooks")
    page.find("#hooks-list table")
    assert "pwned" not in page.find("#hooks-list").text


def test_logs_and_bodies_are_text_and_secrets_never_reach_a_page(
    browser,
    console: Console,
    api: Api,
    screenshots: Path,  # noqa: ANN001
) -> None:
    page = Page(browser, console.url, screenshots)
    page.open("/ui/hooks")
    if "/ui/sign-in" in browser.current_url:
        page.sign_in()
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    hook_id = f"xss-{uuid.uuid4().hex[:8]}"
    script = (
        "(async () => { console.log('<img src=x onerror=\"document.title=1\"><script>x</script>');"
        " if (context.secrets.TOKEN.length < 5) throw new Error('no'); "
        "throw new Error('<b>bold</b> failure'); })()"
    )
    api.put_hook(hook_id, script=script, secrets={"TOKEN": secret})
    job = api.run(hook_id, data="<script>alert('body')</script>")
    assert job["status"] == "failed"

    for path, ready in (
        (f"/ui/hooks/{hook_id}", "#secret-names"),
        (f"/ui/hooks/{hook_id}/history", "tr.job-row"),
        (f"/ui/jobs?hook={hook_id}", "tr.job-row"),
        ("/ui/hooks", "#hooks-list table"),
    ):
        page.open(path)
        page.find(ready)
        if path.endswith("/history"):
            page.click("button.open-job")
            page.wait_text("#job-detail", "Logs")
            detail = page.find("#job-detail").text
            assert "<script>alert('body')</script>" in detail
            assert '<img src=x onerror="document.title=1"><script>x</script>' in detail
            assert "<b>bold</b> failure" in detail
            assert page.count("#job-detail img, #job-detail script, #job-detail b") == 0
            page.shot("xss-history")
        assert secret not in browser.page_source, path
    assert browser.title != "1"

    http, _ = sign_in(console.loopback_url)
    for path in (f"/api/hooks/{hook_id}", "/api/hooks", f"/api/hooks/{hook_id}/jobs"):
        assert secret not in http.get(console.loopback_url + path, timeout=10).text


def test_redis_down_is_said_plainly(
    browser,
    env: dict[str, str],
    workdir: Path,
    screenshots: Path,  # noqa: ANN001
) -> None:
    from tests.support.stack import free_port

    dead = {**env, "HOOKLET_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    console = Console(dead, workdir).start()
    try:
        page = Page(browser, console.url, screenshots)
        page.sign_in()  # sessions live in Redis: the form says why it cannot
        page.wait_text("#sign-in-error", "Redis is unreachable", timeout_s=20)
        page.shot("redis-down-sign-in")
        page.open("/ui/jobs")  # no session could start: back to the form
        page.find("#sign-in")
        assert "/ui/sign-in" in browser.current_url
    finally:
        console.stop()
