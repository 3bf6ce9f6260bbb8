"""The one error root and its leaves; the web app maps them to HTTP statuses."""

from __future__ import annotations

__all__ = [
    "HookletError",
    "HookNotFound",
    "HookDisabled",
    "InvalidHook",
    "JobNotFound",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "QueueUnavailable",
    "StoreFull",
    "NotReplicated",
    "TooManyRequests",
    "QueueFull",
    "RateLimited",
    "Unauthorized",
    "InvalidRequest",
    "SignatureInvalid",
    "HookChanged",
    "HookVersionGone",
    "IdempotencyKeyReused",
    "HeadersTooLarge",
    "JobsFailed",
    "Forbidden",
    "NotFound",
    "QuotaExceeded",
    "DraftNotFound",
    "DraftChanged",
    "NoEarlierVersion",
]


class HookletError(Exception):
    """Base of every error hooklet raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__doc__ or self.code)
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details


class HookNotFound(HookletError, LookupError):
    """No enabled hook has this id."""

    code, status = "hook_not_found", 404


class HookDisabled(HookNotFound):
    """The hook exists but is disabled; senders see it as missing."""


class JobNotFound(HookletError, LookupError):
    """No job has this id (it may have expired)."""

    code, status = "job_not_found", 404


class InvalidHook(HookletError):
    """The hook definition is invalid."""

    code, status = "invalid_hook", 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field


class InvalidRequest(HookletError):
    """The request is malformed."""

    code, status = "invalid_request", 400


class MethodNotAllowed(HookletError):
    """The hook does not accept this HTTP method."""

    code, status = "method_not_allowed", 405

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(f"method not allowed; use one of {', '.join(allowed)}")
        self.allowed = allowed


class PayloadTooLarge(HookletError):
    """The request body is over the limit."""

    code, status = "payload_too_large", 413


class HeadersTooLarge(HookletError):
    """The request's headers are over the limit."""

    code, status = "request_headers_too_large", 431


class IdempotencyKeyReused(HookletError):
    """The idempotency key was first sent with a different request."""

    code, status = "idempotency_key_reused", 409


class TooManyRequests(HookletError):
    """Too many requests in flight for this hook."""

    code, status = "too_many_requests", 429
    retry_after_s: int | None = 1


class QueueFull(TooManyRequests):
    """The hook already has ``limits.maxQueued`` events queued; nothing was stored."""

    retry_after_s = None  # Retry-After: settings.retry_after_s


class RateLimited(TooManyRequests):
    """The hook's project is past its ``eventsPerMinute``; nothing was stored."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unauthorized(HookletError):
    """Missing or wrong credentials."""

    code, status = "unauthorized", 401


class Forbidden(HookletError):
    """The token is valid but lacks the scope this call needs."""

    code, status = "forbidden", 403


class NotFound(HookletError, LookupError):
    """No such project, token or KV key (or one the token may not see)."""

    code, status = "not_found", 404


class QuotaExceeded(HookletError):
    """A project's quota refuses the change (``maxHooks``)."""

    code, status = "quota_exceeded", 422


class DraftNotFound(NotFound):
    """The hook has no draft (none was saved, or it was promoted or deleted)."""

    code = "draft_not_found"


class DraftChanged(HookletError):
    """The draft is not the one named: it was saved again since (its etag differs)."""

    code, status = "draft_changed", 409


class NoEarlierVersion(HookletError):
    """The hook has no such earlier version to roll back to (its first version
    is live, or the version named is not an earlier one of this hook)."""

    code, status = "no_earlier_version", 409


class SignatureInvalid(Unauthorized):
    """The request's signature is missing, wrong or stale."""

    code = "invalid_signature"


class QueueUnavailable(HookletError):
    """Redis cannot be reached; nothing was accepted."""

    code, status = "unavailable", 503  # Retry-After: settings.retry_after_s


class StoreFull(QueueUnavailable):
    """Redis is at its memory budget with no finished job left to trim;
    nothing was accepted."""

    code = "store_full"


class NotReplicated(QueueUnavailable):
    """No replica confirmed the event in time; it was not accepted (it may
    still run: see README, "What an answer promises")."""

    code = "not_replicated"


class HookChanged(HookletError):
    """The hook changed while the request was taken in; nothing was accepted."""

    code, status = "hook_changed", 503
    retry_after_s = 1


class HookVersionGone(HookletError):
    """The hook version this job ran is gone (the hook was deleted, perhaps
    created again since): the job cannot be replayed or redelivered under
    whatever now holds the hook's id."""

    code, status = "hook_version_gone", 409


class JobsFailed(HookletError):
    """A Celery task's job (or a job it took off the queue) failed.

    Raised by ``hooklet.run_script`` after the outcomes are recorded, so the
    task ends in Celery's FAILURE state (Flower's Failed tab) and is acked,
    not retried or redelivered (``task_acks_on_failure_or_timeout``)."""

    code, status = "jobs_failed", 500

    @classmethod
    def of(cls, failures: list[tuple[str, str, str, str]], ran: int = 1) -> JobsFailed:
        """From (job id, hook id, reason, error) of each failed job, of ``ran``.
        The exception holds only its message, so Celery and Flower keep its
        class when they serialize it."""
        parts = [
            f"job {job} (hook {hook or '-'}) {reason}: {_first_line(error)}"
            for job, hook, reason, error in failures
        ]
        head = "" if ran == 1 else f"{len(failures)} of {ran} jobs failed: "
        return cls(head + "; ".join(parts))


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "(no error text)"
