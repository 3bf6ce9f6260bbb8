"""Redelivery policy, written once: how often a job may be begun.

A job is begun again when its worker child died under it (Celery redelivers
the task: acks late, reject on worker lost) or its worker node vanished (the
reaper requeues it). Without a cap a script that kills its child every time
would be redelivered forever.
"""

from __future__ import annotations

from workers.store.jobs.records import FailureReason, JobStatus, Outcome

__all__ = ["attempt_allowed", "gave_up"]


def attempt_allowed(attempt: int, max_attempts: int) -> bool:
    """Whether attempt number ``attempt`` (1 for the first run) may begin."""
    return attempt <= max_attempts


def gave_up(error: str) -> Outcome:
    """The outcome of a job that is not tried again."""
    return Outcome(JobStatus.FAILED, 0.0, [], reason=FailureReason.CRASHED, error=error)
