"""What the contract run seeds, and how it is put back when generated calls
take it away: Schemathesis deletes seeded hooks (it reads their ids from
listings), promotes or deletes the seeded draft and resumes the seeded
blocked key, in an order that depends on what earlier answers held. Each
state-changing operation that needs one of them gets it back right before
its call (tests/contract/schemathesis_hooks.py), so whether it answers 2xx
does not depend on which call came first."""

from __future__ import annotations

import time

import requests

__all__ = ["HOOKS", "ORDERED", "ORDERING_PROJECT", "SCRIPT", "BLOCKED_KEY", "Seeds"]

# A sync hook answers with exactly the headers its script gives (secutils'
# contract: no Content-Type unless the script or the static response sets
# one), so the scripts here name theirs.
SCRIPT = (
    "({ statusCode: 201, headers: { 'content-type': 'application/json' },"
    " body: { got: context.method, bytes: context.body.length } })"
)
ORDERED = "contract-ordered"
ORDERING_PROJECT = "contract-ordering"
BLOCKED_KEY = "seeded"
HOOKS: dict[str, dict] = {
    "contract-async": {"script": SCRIPT, "callbackUrl": "http://127.0.0.1:9/callback"},
    "contract-sync": {"script": SCRIPT, "mode": "sync", "limits": {"waitMs": 5000}},
    "contract-root": {"script": SCRIPT, "route": {"path": "/", "pathType": "="}},
    "contract-route": {"script": SCRIPT, "route": {"path": "/contract-route", "pathType": "^"}},
    "contract-admin": {"script": SCRIPT},
    # Its failures block their key (query k): resumeKey has a key to resume.
    # Its own project: a blocked key's queued jobs are never trimmed, and
    # generated quotas of 'default' (storedBytes) must not meet them.
    ORDERED: {
        "script": "throw new Error('blocks its key')",
        "ordering": {"key": "query:k", "onFailure": "block"},
        "project": ORDERING_PROJECT,
    },
}
_WAIT_S = 20.0
_QUOTAS = ("maxHooks", "eventsPerMinute", "storedBytes", "kvBytes", "maxConcurrent")


class Seeds:
    """Puts a seeded thing back when it is gone (each check one loopback GET)."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def _hook_url(self, hook_id: str) -> str:
        return f"{self.base}/api/hooks/{hook_id}"

    def hook(self, hook_id: str, *, reset: bool = False) -> None:
        """The seeded hook exists (``reset``: with its seeded definition)."""
        if not reset and self.http.get(self._hook_url(hook_id), timeout=10).status_code == 200:
            return
        definition = HOOKS[hook_id]
        project = definition.get("project")
        if project:  # a generated DELETE may have taken the project too, once it was empty
            self.http.post(f"{self.base}/api/projects", json={"id": project}, timeout=10)
            # ... or given it quotas that refuse the events that block a key
            unlimited = {"quotas": dict.fromkeys(_QUOTAS)}  # null drops a quota
            self.http.patch(f"{self.base}/api/projects/{project}", json=unlimited, timeout=10)
        put = self.http.put(self._hook_url(hook_id), json=definition, timeout=10)
        assert put.status_code in (200, 201), put.text

    def draft(self, hook_id: str) -> None:
        """The hook has a draft (to delete, promote or try)."""
        url = f"{self._hook_url(hook_id)}/draft"
        if self.http.get(url, timeout=10).status_code == 200:
            return
        self.http.put(url, json={"script": SCRIPT}, timeout=10)

    def blocked_key(self) -> None:
        """The ordered hook's key ``seeded`` is blocked (a resume lets it go on;
        a rerun that fails blocks it again, a little later)."""
        self.hook(ORDERED)
        if self._blocked():
            return
        self.hook(ORDERED, reset=True)  # a generated PUT or PATCH may have changed it
        sent = self.http.post(f"{self.base}/h/{ORDERED}", params={"k": BLOCKED_KEY}, timeout=10)
        assert sent.status_code == 202, sent.text
        deadline = time.monotonic() + _WAIT_S
        while not self._blocked():
            assert time.monotonic() < deadline, f"key {BLOCKED_KEY!r} of {ORDERED} never blocked"
            time.sleep(0.05)

    def _blocked(self) -> bool:
        listed = self.http.get(f"{self._hook_url(ORDERED)}/keys", params={"blocked": "true"},
                               timeout=10)  # fmt: skip
        return listed.status_code == 200 and any(
            k["key"] == BLOCKED_KEY for k in listed.json()["keys"]
        )
