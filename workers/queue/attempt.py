"""What one task's run did, job by job: each job whose attempt has begun in
this child (``Attempt``) and what the task reports (``Ran``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from workers.store.jobs.records import EventRequest, JobStatus

__all__ = ["Attempt", "Ran"]


@dataclass(frozen=True)
class Attempt:
    """A job whose attempt has begun in this child."""

    job_id: str
    raw: dict[bytes, bytes]
    worker: str
    from_queue: bool  # taken straight off the queue, not delivered by Celery

    @property
    def attempts(self) -> int:
        return int(self.raw[b"attempts"])

    @functools.cached_property
    def hook(self) -> str:
        """The metrics label: the hook id, or ``_test`` for a test run."""
        return (self.raw.get(b"hookId") or b"").decode() or "_test"

    @functools.cached_property
    def request(self) -> EventRequest:
        """The stored request, decompressed once: the run and the finish
        (an echoed body is stored once) both read it."""
        return EventRequest.from_job(self.raw)


@dataclass
class Ran:
    """What one ``Executor.run`` did: the first job's status, how many jobs it
    ran, and (job id, hook id, reason, error) of each one that failed: what
    the task's ``JobsFailed`` names for Flower."""

    status: JobStatus
    jobs: int = 0
    failures: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, job_id: str, status: JobStatus, raw: dict[bytes, bytes] | None) -> None:
        self.jobs += 1
        if status is JobStatus.FAILED:
            raw = raw or {}
            self.failures.append(
                (
                    job_id,
                    (raw.get(b"hookId") or b"").decode(),
                    (raw.get(b"reason") or b"gone").decode(),
                    (raw.get(b"error") or b"the job expired or was deleted").decode(),
                )
            )
