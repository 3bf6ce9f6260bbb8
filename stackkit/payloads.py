"""GitHub-push-like events for memory tests and benchmarks: the JSON shape,
headers and entropy (commit SHAs, delivery ids) of real push deliveries, so
compression figures are not flattered by repetitive filler."""

from __future__ import annotations

import json
import random
import uuid

__all__ = ["github_push", "github_headers", "TRIVIAL_BODY"]

TRIVIAL_BODY = b'{"ok":true}'
_WORDS = (
    "fix update add remove refactor docs test bump parser cache worker queue retry "
    "timeout config readme handler metrics release typo build lint deps api"
).split()


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _user(rng: random.Random, name: str) -> dict:
    return {"name": name.title(), "email": f"{name}@users.noreply.github.com", "username": name}


def _commit(rng: random.Random, repo: str, author: str) -> dict:
    sha = _sha(rng)
    message = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 9)))
    files = [f"src/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}.py" for _ in range(rng.randint(1, 4))]
    return {
        "id": sha,
        "tree_id": _sha(rng),
        "distinct": True,
        "message": message,
        "timestamp": f"2026-11-29T10:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
        "url": f"https://github.com/{repo}/commit/{sha}",
        "author": _user(rng, author),
        "committer": _user(rng, author),
        "added": [],
        "removed": [],
        "modified": files,
    }


def _repository(rng: random.Random, owner: str, name: str) -> dict:
    full = f"{owner}/{name}"
    base = f"https://api.github.com/repos/{full}"
    repo: dict = {
        "id": rng.randint(10**8, 10**9),
        "node_id": "R_kgDO" + uuid.UUID(int=rng.getrandbits(128)).hex[:8],
        "name": name,
        "full_name": full,
        "private": False,
        "owner": {
            "name": owner,
            "login": owner,
            "id": rng.randint(10**5, 10**7),
            "url": f"https://api.github.com/users/{owner}",
            "type": "User",
        },
        "html_url": f"https://github.com/{full}",
        "description": "Self-hosted webhooks that run small JavaScript programs",
        "fork": False,
        "url": f"https://github.com/{full}",
    }
    for part in (
        "forks",
        "keys",
        "collaborators",
        "teams",
        "hooks",
        "issue_events",
        "events",
        "assignees",
        "branches",
        "tags",
        "blobs",
        "git_tags",
        "git_refs",
        "trees",
        "statuses",
        "languages",
        "stargazers",
        "contributors",
        "subscribers",
        "subscription",
        "commits",
        "git_commits",
        "comments",
        "issue_comment",
        "contents",
        "compare",
    ):
        repo[f"{part}_url"] = f"{base}/{part}"
    repo.update(
        {
            "created_at": 1732871000,
            "updated_at": "2026-11-29T10:00:00Z",
            "pushed_at": 1764410000,
            "size": rng.randint(100, 9000),
            "stargazers_count": rng.randint(0, 500),
            "language": "Python",
            "default_branch": "main",
            "master_branch": "main",
        }
    )
    return repo


def github_push(target_bytes: int, seed: int = 0) -> bytes:
    """A push event of about ``target_bytes`` (more commits make it bigger)."""
    rng = random.Random(seed)
    owner, name, author = "octo-org", "hooklet", rng.choice(["ada", "grace", "linus", "alan"])
    commits: list[dict] = []
    event: dict = {}
    while True:
        head = commits[-1] if commits else _commit(rng, f"{owner}/{name}", author)
        event = {
            "ref": "refs/heads/main",
            "before": _sha(rng) if not event else event["before"],
            "after": head["id"],
            "repository": _repository(random.Random(seed), owner, name),
            "pusher": {"name": author, "email": f"{author}@users.noreply.github.com"},
            "sender": {
                "login": author,
                "id": 4242,
                "type": "User",
                "url": f"https://api.github.com/users/{author}",
            },
            "created": False,
            "deleted": False,
            "forced": False,
            "compare": f"https://github.com/{owner}/{name}/compare/{head['id'][:12]}",
            "commits": commits,
            "head_commit": head,
        }
        body = json.dumps(event, indent=None).encode()
        if len(body) >= target_bytes:
            return body
        if len(body) + 620 > target_bytes:  # a commit is ~620 bytes: pad instead
            event["repository"]["description"] += " (" + "push " * 200
            cut = target_bytes - len(body)
            event["repository"]["description"] = event["repository"]["description"][: 55 + cut]
            return json.dumps(event, indent=None).encode()
        commits.append(_commit(rng, f"{owner}/{name}", author))


def github_headers(body: bytes, seed: int = 0) -> dict[str, str]:
    """The headers GitHub sends with a push delivery (signature values random)."""
    rng = random.Random(seed)
    return {
        "User-Agent": "GitHub-Hookshot/8a7c1e2",
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.UUID(int=rng.getrandbits(128))),
        "X-GitHub-Hook-ID": str(rng.randint(10**8, 10**9)),
        "X-GitHub-Hook-Installation-Target-ID": str(rng.randint(10**8, 10**9)),
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-Hub-Signature": "sha1=" + f"{rng.getrandbits(160):040x}",
        "X-Hub-Signature-256": "sha256=" + f"{rng.getrandbits(256):064x}",
        "Accept": "*/*",
    }
