"""Projects, API tokens, the audit log and sign-in throttles (store/access/, app/console/)."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def project(project_id: str) -> str:
    """Hash: a project's definition (``def`` JSON); ``default`` exists even when absent."""
    return f"{PREFIX}:project:{project_id}"


def project_ids() -> str:
    """Set: ids of every stored project."""
    return f"{PREFIX}:projects"


def project_rate(project_id: str) -> str:
    """Hash: the project's eventsPerMinute token bucket (``tokens``, ``at``)."""
    return f"{PREFIX}:project:{project_id}:rate"


def project_running(project_id: str) -> str:
    """Sorted set: the project's jobs taken to run (maxConcurrent), by hard
    deadline. The id comes last: the lanes' Lua builds it from a prefix."""
    return f"{PREFIX}:project-running:{project_id}"


def project_store_full(project_id: str) -> str:
    """String, with a short expiry: the project is past its storedBytes with
    nothing left to trim (access/storage.py); the intake refuses its events."""
    return f"{PREFIX}:project-full:{project_id}"


def api_token(token_id: str) -> str:
    """Hash: an API token's record (its SHA-256, never the token); expires with it."""
    return f"{PREFIX}:apitoken:{token_id}"


def api_token_ids() -> str:
    """Set: ids of every API token (an expired record's id is dropped when listed)."""
    return f"{PREFIX}:apitokens"


def audit(project_id: str) -> str:
    """Stream: a project's audit entries, ids by time, trimmed to the retention (MINID)."""
    return f"{PREFIX}:audit:{project_id}"


def api_auth_failures(client: str) -> str:
    """String: a client address's failed API authentications in the window."""
    return f"{PREFIX}:api-auth-failures:{client}"


def signin_failures(client: str) -> str:
    """Counter: a client address's failed console sign-ins in the current
    window (expires with it)."""
    return f"{PREFIX}:console:signin-failures:{client}"


def console_session(digest: str) -> str:
    """String: a signed-in console session (JSON, expires with the session),
    under the SHA-256 of the id its cookie carries; sign-out deletes it."""
    return f"{PREFIX}:console:session:{digest}"
