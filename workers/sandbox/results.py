"""What a run is given (``RunLimits``) and what it produced (``RunResult``),
read from the runtime's outcome with every cap checked here (output.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workers.sandbox.output import cap_logs, headers_over, output_over
from workers.sandbox.wire import well_formed_json
from workers.store.jobs.records import FailureReason

__all__ = ["RunLimits", "RunResult", "to_result"]


@dataclass(frozen=True)
class RunLimits:
    timeout_ms: int
    heap_mb: int
    max_log_lines: int = 100
    max_log_bytes: int = 16 * 1024
    max_result_bytes: int = 1024 * 1024
    max_error_bytes: int = 8 * 1024
    max_header_count: int = 100
    max_header_bytes: int = 32 * 1024


@dataclass
class RunResult:
    """What the script produced. On failure ``reason`` and ``error`` are set."""

    duration_ms: float
    logs: list[dict[str, str]] = field(default_factory=list)
    logs_dropped: int = 0
    status_code: int | None = None
    headers: dict[str, str] | None = None
    body: bytes | None = None
    body_is_json: bool = False
    idle: bool = False  # nothing the script queued (timers) is still pending
    restartable: bool = False  # the next run can be given its context and console
    skip_request: bool = False  # secutils: not kept in the hook's history
    track_response: bool = False  # secutils: the response is kept with the job
    reason: FailureReason | None = None
    error: str | None = None
    input_bytes: int = 0  # the size of the context (request) handed to V8
    tape: dict[str, Any] | None = None  # clock values read, and the seed if used (tape.py)

    @property
    def ok(self) -> bool:
        return self.reason is None


def to_result(
    meta: dict[str, Any], body: bytes | None, duration_ms: float, limits: RunLimits
) -> RunResult:
    logs, dropped = cap_logs(meta.get("logs", []), limits)
    reported = meta.get("logsDropped")
    result = RunResult(
        duration_ms,
        logs=logs,
        logs_dropped=(reported if type(reported) is int else 0) + dropped,
        idle=meta.get("idle") is True,
        restartable=meta.get("restartable") is True,
    )
    if not meta.get("ok"):
        result.reason = FailureReason.ERROR  # a throw: only the host decides "memory"
        result.error = str(meta.get("error", "script failed"))
        over = output_over(result.error.encode(), limits.max_error_bytes, "the error text")
        if over:
            began = result.error[:1024]
            result.reason, result.error = FailureReason.OUTPUT, f"{over}. It began: {began}"
        return result
    forged = _forged(meta)
    if forged:
        result.reason, result.error = FailureReason.ERROR, forged
        return result
    result.status_code = meta.get("statusCode")
    result.headers = meta.get("headers")
    result.skip_request = meta.get("skipRequest") is True
    result.track_response = meta.get("trackResponse") is True
    if "text" in meta:
        body = str(meta["text"]).encode("utf-8", "replace")
        result.body_is_json = bool(meta.get("json"))
        if result.body_is_json:  # JSON.stringify writes a lone surrogate as \ud800
            body = well_formed_json(body)
    problem = headers_over(result.headers, limits) or (
        body is not None and output_over(body, limits.max_result_bytes, "the result body")
    )
    if problem:
        result.reason, result.error = FailureReason.OUTPUT, problem
        result.headers = None
        return result
    result.body = body
    return result


def _forged(meta: dict[str, Any]) -> str | None:
    """Why the runtime's report of a result is not one the runtime writes
    (js/90_control.js, settle), if it is not. The runtime writes its report
    with builtins captured before any script ran (js/00_primordials.js), so
    a script cannot shape it; this stays as a second line of defence."""
    status = meta.get("statusCode")
    headers = meta.get("headers")
    if status is not None and (type(status) is not int or not 200 <= status <= 599):
        what = "statusCode"
    elif headers is not None and (
        not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())
    ):
        what = "headers"
    else:
        return None
    return (
        f"Error: the script's result could not be read ({what}); did the script replace a "
        "builtin the runtime uses, such as Object.prototype.toJSON?"
    )
