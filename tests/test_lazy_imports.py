"""Heavy libraries used at one spot are imported where used (issue 22, item 4):
every web process used to import the Stripe SDK (about 200 ms and 27 MB)
for one signature check on stripe hooks."""

from __future__ import annotations

import subprocess
import sys

from tests.support.stack import ROOT, RedisServer, hooklet_env

PROBE = """
import sys
import app.wsgi, app.console.wsgi
loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(",".join(loaded))
"""


def test_the_web_apps_do_not_import_stripe(redis_server: RedisServer) -> None:
    """A fresh interpreter builds both web apps (as gunicorn does) and has
    not imported the Stripe SDK."""
    done = subprocess.run(
        [sys.executable, "-c", "HEAVY = {'stripe'}\n" + PROBE],
        cwd=ROOT,
        env=hooklet_env(redis_server.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported at start: {done.stdout}"


def test_a_stripe_hook_still_verifies_with_the_sdk_loaded_on_first_use() -> None:
    """The check itself still uses the SDK (imported inside the function)."""
    import hashlib
    import hmac
    import time

    from workers.delivery.signatures import verify_request

    secret, body, ts = "whsec_test", b'{"id": "evt_1"}', int(time.time())
    signature = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"stripe-signature": f"t={ts},v1={signature}"}
    verify_request({"scheme": "stripe", "secret": secret}, headers, body)
    assert "stripe" in sys.modules
