"""What ``hooklet dev`` prints for one save: a syntax error where it is, or
the draft's try verdicts as a table, each difference readable (status,
headers, body line by line or JSON path by path) and the draft's log lines.
Pure functions from the API's answers to lines of text (styled for a
terminal; ``click.echo`` drops the styles elsewhere)."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

import click

__all__ = ["SyntaxProblem", "counts_line", "report", "syntax_problem", "syntax_report"]

RESULTS = ("same", "differs", "diverged", "failed")
_COLOURS = {"same": "green", "differs": "yellow", "diverged": "magenta", "failed": "red",
            "nondeterministic": "red"}  # fmt: skip
_WHERE = re.compile(
    r"^(?:script: )?(?P<message>.*) \(line (?P<line>\d+)(?:, column (?P<column>\d+))?\)$"
)
_MAX_VALUE = 160
_MAX_BODY_LINES = 40
_ABSENT = object()  # a JSON path one side does not have


class SyntaxProblem:
    """A script's syntax error as the API reported it, and where."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        self.message, self.line, self.column = message, line, column


def syntax_problem(api_message: str) -> SyntaxProblem:
    """Read ``script: SyntaxError: ... (line N, column M)`` (the 422's message)."""
    found = _WHERE.match(api_message)
    if found is None:
        return SyntaxProblem(api_message.removeprefix("script: "), None, None)
    column = found["column"]
    return SyntaxProblem(found["message"], int(found["line"]), int(column) if column else None)


def syntax_report(file_name: str, source: str, problem: SyntaxProblem) -> list[str]:
    """``FILE:LINE:COLUMN: message``, then the line and a caret under the column."""
    where = ":".join(str(p) for p in (file_name, problem.line, problem.column) if p is not None)
    lines = [click.style(f"{where}: {problem.message}", fg="red", bold=True)]
    text = source.split("\n")
    if problem.line is not None and 1 <= problem.line <= len(text):
        shown = text[problem.line - 1].rstrip("\r").expandtabs(1)  # V8 counts a tab as one column
        lines.append(f"  {shown}")
        if problem.column is not None:
            lines.append("  " + " " * (problem.column - 1) + click.style("^", fg="red"))
    lines.append("nothing saved: fix it and save again")
    return lines


def report(tried: dict[str, Any]) -> list[str]:
    """The table of verdicts, the differences in full, the logs, the counts."""
    jobs = tried.get("jobs") or []
    if not jobs:
        return ["no recorded events to try the draft on: send the hook one and save again"]
    lines = _table(jobs)
    for job in jobs:
        if job["result"] != "same":
            lines += ["", _styled(job["result"]) + f"  {job['jobId']}", *_details(job)]
    logged = [job for job in jobs if _logs_of(job)]
    if logged:
        lines += ["", click.style("logs of the draft's runs:", bold=True)]
        for job in logged:
            lines += [f"  {job['jobId'][:8]} [{e.get('level', 'log')}] {e.get('message', '')}"
                      for e in _logs_of(job)]  # fmt: skip
    return [*lines, "", counts_line(tried.get("counts") or {}, len(jobs))]


def counts_line(counts: dict[str, int], total: int) -> str:
    """``20 events: 18 same, 1 differs, 1 diverged, 0 failed`` (and any other result)."""
    names = [*RESULTS, *sorted(set(counts) - set(RESULTS))]
    parts = [f"{counts.get(name, 0)} {name}" for name in names]
    return f"{total} event{'s' if total != 1 else ''}: " + ", ".join(parts)


def _logs_of(job: dict[str, Any]) -> list[dict[str, str]]:
    return job.get("logs") or (job.get("draft") or {}).get("logs") or []


def _table(jobs: list[dict[str, Any]]) -> list[str]:
    rows = [(job["jobId"], job["result"], _summary(job)) for job in jobs]
    id_width = max(3, *(len(r[0]) for r in rows))
    result_width = max(len("result"), *(len(r[1]) for r in rows))
    head = f"{'JOB'.ljust(id_width)}  {'RESULT'.ljust(result_width)}  WHAT"
    lines = [click.style(head, bold=True)]
    for job_id, result, what in rows:
        padding = " " * (result_width - len(result))
        lines.append(f"{job_id.ljust(id_width)}  {_styled(result)}{padding}  {what}".rstrip())
    return lines


def _styled(result: str) -> str:
    return click.style(result, fg=_COLOURS.get(result), bold=result != "same")


def _summary(job: dict[str, Any]) -> str:
    result = job["result"]
    if result == "differs":
        return _diff_summary(job.get("diff") or {})
    if result == "diverged":
        return f"step {job.get('step')}: {job.get('call')}"
    if result == "failed":
        return _short(f"{job.get('reason')}: {job.get('error') or ''}".rstrip(": "))
    if result == "nondeterministic":
        return "the live version does not give back its stored answer on its tape"
    return ""


def _diff_summary(diff: dict[str, Any]) -> str:
    parts = []
    for name in ("status", "reason", "error"):
        if name in diff:
            parts.append(name)
    if "statusCode" in diff:
        change = diff["statusCode"]
        parts.append(f"status code {change.get('stored')} → {change.get('draft')}")
    if "headers" in diff:
        parts.append("headers " + ", ".join(diff["headers"]))
    body = diff.get("body")
    if body is not None:
        changes = body.get("changes")
        if body.get("json") and changes:
            paths = ", ".join(change["path"] for change in changes[:3])
            parts.append(f"body {paths}{', …' if len(changes) > 3 or body.get('more') else ''}")
        else:
            parts.append("body")
    return _short("; ".join(parts))


def _details(job: dict[str, Any]) -> list[str]:
    """A verdict's every difference, one per line, indented under it."""
    result = job["result"]
    if result == "differs":
        return diff_lines(job.get("diff") or {})
    if result == "diverged":
        return [f"  step {job.get('step')}: the draft calls {job.get('call')},",
                "  which the recorded run never did (the tape has no answer for it)"]  # fmt: skip
    if result == "failed":
        return [f"  {job.get('reason')}: {job.get('error') or ''}".rstrip(": ")]
    if result == "nondeterministic":
        own = (job.get("ownVersion") or {}).get("diff") or {}
        return ["  the live version, run on this event's tape, answers otherwise:",
                *diff_lines(own), "  (a hooklet bug: report it with the job id)"]  # fmt: skip
    return []


def diff_lines(diff: dict[str, Any]) -> list[str]:
    """``status code 200 → 201``, ``header x-a: "1" → (none)``, ``body $.n: 2 → 20``."""
    lines = []
    for name, label in (("status", "status"), ("reason", "reason"), ("error", "error"),
                        ("statusCode", "status code")):  # fmt: skip
        if name in diff:
            lines.append(f"  {label}: {_value(diff[name].get('stored'))} → "
                         f"{_value(diff[name].get('draft'))}")  # fmt: skip
    for header, change in (diff.get("headers") or {}).items():
        lines.append(f"  header {header}: {_value(change.get('stored'))} → "
                     f"{_value(change.get('draft'))}")  # fmt: skip
    body = diff.get("body")
    if body is not None:
        lines += _body_lines(body)
    return lines


def _body_lines(body: dict[str, Any]) -> list[str]:
    if body.get("json"):
        if not body.get("changes"):
            return [f"  body: {body.get('note', 'same JSON value, different bytes')}"]
        lines = [f"  body {c['path']}: {_value(c.get('stored', _ABSENT), json_null=True)} → "
                 f"{_value(c.get('draft', _ABSENT), json_null=True)}"
                 for c in body["changes"]]  # fmt: skip
        return lines + (["  body: more changes not shown"] if body.get("more") else [])
    stored, draft = body.get("stored") or {}, body.get("draft") or {}
    if "base64" in (stored.get("bodyEncoding"), draft.get("bodyEncoding")):
        return [f"  body: {stored.get('bytes', 0)} bytes → {draft.get('bytes', 0)} bytes (binary)"]
    lines = ["  body:"]
    before = str(stored.get("body", "")).splitlines()
    after = str(draft.get("body", "")).splitlines()
    changed = [
        line for line in difflib.unified_diff(before, after, "stored", "draft", n=1, lineterm="")
        if not line.startswith(("---", "+++"))
    ]  # fmt: skip
    for line in changed[:_MAX_BODY_LINES]:
        colour = {"-": "red", "+": "green", "@": "cyan"}.get(line[:1])
        lines.append("    " + click.style(_short(line), fg=colour))
    if len(changed) > _MAX_BODY_LINES:
        lines.append(f"    … {len(changed) - _MAX_BODY_LINES} more lines")
    if not changed:  # only the trailing newline differs
        lines.append("    (the same lines; whitespace at the end differs)")
    return lines


def _value(value: Any, *, json_null: bool = False) -> str:
    """A JSON value as JSON; ``(none)`` for a side that has none (a JSON
    body's ``null`` is a value, a header's or status code's None is not)."""
    if value is _ABSENT or (value is None and not json_null):
        return "(none)"
    return _short(json.dumps(value, ensure_ascii=False))


def _short(text: str) -> str:
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"
