"""The queue's bottom layer: queue and task names and Celery's time limits.

Everything that builds or reads a task message imports these from here, so
no module needs the Celery app (or the tasks) just to name a queue.
"""

from __future__ import annotations

import math

from workers.settings import Settings

__all__ = [
    "SCRIPTS_QUEUE",
    "SYNC_QUEUE",
    "SCRIPT_QUEUES",
    "CALLBACKS_QUEUE",
    "SHADOW_QUEUE",
    "RUN_SCRIPT",
    "DELIVER_CALLBACK",
    "SHADOW_RUN",
    "run_time_limits",
    "callback_time_limits",
    "shadow_time_limits",
    "visibility_timeout_s",
]

SCRIPTS_QUEUE = "scripts"
# The sync lane's tokens: script workers consume it first (-Q scripts.sync,scripts).
SYNC_QUEUE = "scripts.sync"
SCRIPT_QUEUES = (SYNC_QUEUE, SCRIPTS_QUEUE)  # in the order workers look at them
CALLBACKS_QUEUE = "callbacks"
# Shadow runs (workers/shadow): their own queue and worker node, so they
# never take a slot live events could use.
SHADOW_QUEUE = "shadow"
RUN_SCRIPT = "hooklet.run_script"
DELIVER_CALLBACK = "hooklet.deliver_callback"
SHADOW_RUN = "hooklet.shadow_run"


def run_time_limits(settings: Settings, timeout_ms: int) -> tuple[float, float]:
    """Celery's (soft, hard) time limits in seconds for running a job whose
    script may take ``timeout_ms``: a margin above it, plus room for the jobs
    the child may take off the queue after it (``Executor.run``). The child
    takes only jobs whose own hard deadline fits in what is left of its task's
    soft limit; each is held to its own timeout by the child's watchdog, and
    these limits are the backstop if the watchdog itself is stuck."""
    room_ms = 0
    if settings.batch_max_jobs > 0:
        room_ms = settings.batch_window_ms + settings.max_timeout_ms + settings.hard_limit_margin_ms
    soft_ms = timeout_ms + settings.soft_limit_margin_ms + room_ms
    hard_ms = timeout_ms + settings.hard_limit_margin_ms + room_ms
    return soft_ms / 1000, hard_ms / 1000


def callback_time_limits(settings: Settings) -> tuple[float, float]:
    """Celery's (soft, hard) limits for one callback attempt."""
    hard_s = settings.callback_timeout_s + 30
    return hard_s - 10, hard_s


def shadow_time_limits(settings: Settings) -> tuple[float, float]:
    """Celery's (soft, hard) limits for one shadow run: the draft's run and,
    if its answer differs, the live version's on the same tape."""
    longest_ms = 2 * settings.max_timeout_ms
    soft_ms = longest_ms + settings.soft_limit_margin_ms
    return soft_ms / 1000, (longest_ms + settings.hard_limit_margin_ms) / 1000


def visibility_timeout_s(settings: Settings) -> int:
    """Above the longest hard time limit, so Redis never hands a running task
    to a second worker; low enough that a dead node's tasks come back soon."""
    if settings.visibility_timeout_s:
        return settings.visibility_timeout_s
    _, longest_hard_s = run_time_limits(settings, settings.max_timeout_ms)
    longest_hard_s = max(longest_hard_s, shadow_time_limits(settings)[1])
    return math.ceil(longest_hard_s) + 30
