"""Projects, tokens and scopes (issue 23): the page's curl blocks run as
written, in order in one shell as a reader runs them in one terminal,
against a real stack (gunicorn, a Celery worker, Redis)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.docs.blocks import block
from tests.docs.run import run_block
from tests.support.stack import Api, RedisServer
from workers.store import keys

pytestmark = pytest.mark.stack

# In the page's order: each block uses the shell variables the ones before set.
BLOCKS = ("projects-create", "projects-token", "projects-kv", "projects-audit")


def _json_lines(stdout: str) -> list[object]:
    """Each line of output that is a JSON document, parsed (the status codes
    the page prints with -w are lines of their own)."""
    found = []
    for line in stdout.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_projects_tokens_kv_and_audit_run_as_written(
    reader_dir: Path, api: Api, redis_server: RedisServer
) -> None:
    # Wrong tokens other tests sent from this address must not throttle the reader.
    redis_server.client().delete(keys.api_auth_failures("127.0.0.1"))
    blocks = [block(name) for name in BLOCKS]
    joined = dataclasses.replace(
        blocks[0], name="+".join(BLOCKS), code="".join(b.code for b in blocks)
    )
    # Plain curl, as the reader's: two lines print a 404, a 403 and a 401 on purpose.
    result = run_block(joined, reader_dir, base_url=api.base, http_errors_fail=False)
    out = result.stdout
    docs = _json_lines(out)

    created = next(d for d in docs if isinstance(d, dict) and d.get("id") == "shop")
    assert created["quotas"] == {"maxHooks": 10}, out
    patched = [d for d in docs if isinstance(d, dict) and d.get("quotas") == {"maxHooks": 20}]
    assert patched, out
    listed = next(d for d in docs if isinstance(d, dict) and "projects" in d)
    assert {"default", "shop"} <= {p["id"] for p in listed["projects"]}, out

    hook = next(d for d in docs if isinstance(d, dict) and d.get("id") == "orders")
    assert hook["project"] == "shop", out
    seen = next(d for d in docs if isinstance(d, dict) and "hooks" in d)
    assert [h["id"] for h in seen["hooks"]] == ["orders"], out  # not default's echo, hello

    statuses = [line for line in out.splitlines() if line.strip() in {"401", "403", "404"}]
    assert statuses == ["404", "403", "401"], out  # another's hook, a scope, revoked

    entry = next(d for d in docs if isinstance(d, dict) and d.get("key") == "greeting")
    assert entry["value"] == "aGVsbG8", out
    keys_page = next(
        d for d in docs if isinstance(d, dict) and "entries" in d and "nextCursor" in d
    )
    assert any(e.get("key") == "greeting" for e in keys_page["entries"]), out
    assert {"greeting": "aGVsbG8"} in docs, out  # the script read what the API wrote

    audit = next(
        d
        for d in docs
        if isinstance(d, dict)
        and any(e.get("action") == "hook.create" for e in d.get("entries", []))
    )
    assert all(e["action"].startswith("hook.") for e in audit["entries"]), out

    # The last line deleted the project with its hook.
    for path in ("/api/projects/shop", "/api/hooks/orders"):
        gone = api.http.get(f"{api.base}{path}", headers=api.admin, timeout=10)
        assert gone.status_code == 404, (path, gone.text)
