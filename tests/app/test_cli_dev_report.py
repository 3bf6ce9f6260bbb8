"""What ``hooklet dev`` prints for a save (app/cli/dev_report.py): the
table of verdicts, each difference readable, the draft's log lines, and a
syntax error at its line and column. The answers are shaped as
``POST /api/hooks/<id>/draft/try`` and the 422 give them."""

from __future__ import annotations

import click

from app.cli.dev_report import counts_line, report, syntax_problem, syntax_report

JOB_A, JOB_B, JOB_C, JOB_D = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)
TRIED = {
    "draft": {"etag": "e" * 40, "baseVersion": 3},
    "counts": {"same": 1, "differs": 1, "diverged": 1, "failed": 1},
    "jobs": [
        {"jobId": JOB_A, "result": "same", "logs": [{"level": "log", "message": "hello a"}]},
        {
            "jobId": JOB_B,
            "result": "differs",
            "diff": {
                "statusCode": {"stored": 200, "draft": 201},
                "headers": {"x-mode": {"stored": "old", "draft": None}},
                "body": {
                    "json": True,
                    "changes": [
                        {"path": "$.n", "stored": 2, "draft": 20},
                        {"path": "$.gone", "stored": None},
                        {"path": "$.added", "draft": "new"},
                    ],
                    "more": False,
                },
            },
            "logs": [{"level": "warn", "message": "n is 20"}],
        },
        {"jobId": JOB_C, "result": "diverged", "step": 2, "call": "fetch POST http://up/echo"},
        {"jobId": JOB_D, "result": "failed", "reason": "error", "error": "Error: boom"},
    ],
}


def lines_of(rendered: list[str]) -> list[str]:
    return [click.unstyle(line) for line in rendered]


def test_the_table_has_one_row_a_job_with_what_changed() -> None:
    lines = lines_of(report(TRIED))
    assert lines[0].split() == ["JOB", "RESULT", "WHAT"]
    rows = {line.split()[0]: line for line in lines[1:5]}
    assert rows[JOB_A].split()[1:] == ["same"]
    assert "differs" in rows[JOB_B] and "status code 200 → 201" in rows[JOB_B]
    assert "headers x-mode" in rows[JOB_B] and "body $.n, $.gone, $.added" in rows[JOB_B]
    assert rows[JOB_C].split()[1:] == ["diverged", "step", "2:", "fetch", "POST", "http://up/echo"]
    assert rows[JOB_D].split(maxsplit=2)[1:] == ["failed", "error: Error: boom"]
    # The result column lines up whatever the colours.
    assert len({line.index(line.split()[1]) for line in lines[1:5]}) == 1
    assert lines[-1] == "4 events: 1 same, 1 differs, 1 diverged, 1 failed"


def test_each_difference_is_shown_in_full_under_its_job() -> None:
    text = "\n".join(lines_of(report(TRIED)))
    assert (
        f"differs  {JOB_B}\n"
        "  status code: 200 → 201\n"
        '  header x-mode: "old" → (none)\n'
        "  body $.n: 2 → 20\n"
        "  body $.gone: null → (none)\n"
        '  body $.added: (none) → "new"\n'
    ) in text
    assert f"diverged  {JOB_C}\n  step 2: the draft calls fetch POST http://up/echo," in text
    assert f"failed  {JOB_D}\n  error: Error: boom" in text
    assert f"same  {JOB_A}" not in text  # nothing to show for a same answer


def test_the_drafts_log_lines_are_shown_with_their_job() -> None:
    lines = lines_of(report(TRIED))
    start = lines.index("logs of the draft's runs:")
    assert lines[start + 1 : start + 3] == ["  aaaaaaaa [log] hello a", "  bbbbbbbb [warn] n is 20"]


def test_a_text_body_differs_line_by_line() -> None:
    tried = {
        "counts": {"differs": 1},
        "jobs": [{"jobId": JOB_A, "result": "differs", "diff": {"body": {
            "stored": {"body": "one\ntwo\nthree", "bodyEncoding": "utf-8", "bytes": 13},
            "draft": {"body": "one\nTWO\nthree", "bodyEncoding": "utf-8", "bytes": 13},
        }}}],
    }  # fmt: skip
    lines = lines_of(report(tried))
    start = lines.index("  body:")
    assert lines[start + 1 :][:5] == ["    @@ -1,3 +1,3 @@", "     one", "    -two", "    +TWO",
                                      "     three"]  # fmt: skip


def test_binary_bodies_and_same_json_are_said_not_dumped() -> None:
    binary = {"body": {"stored": {"body": "AAE=", "bodyEncoding": "base64", "bytes": 2},
                       "draft": {"body": "AQ==", "bodyEncoding": "base64", "bytes": 1}}}  # fmt: skip  # noqa: E501
    spelled = {"body": {"json": True, "changes": [], "note": "same JSON value, different bytes"}}
    tried = {"counts": {"differs": 2}, "jobs": [
        {"jobId": JOB_A, "result": "differs", "diff": binary},
        {"jobId": JOB_B, "result": "differs", "diff": spelled},
    ]}  # fmt: skip
    lines = lines_of(report(tried))
    assert "  body: 2 bytes → 1 bytes (binary)" in lines
    assert "  body: same JSON value, different bytes" in lines


def test_a_nondeterministic_job_shows_what_its_own_version_answered() -> None:
    tried = {"counts": {"nondeterministic": 1}, "jobs": [{
        "jobId": JOB_A, "result": "nondeterministic",
        "draft": {"result": "differs", "logs": [{"level": "log", "message": "from the draft"}]},
        "ownVersion": {"result": "differs", "diff": {"statusCode": {"stored": 200, "draft": 500}}},
    }]}  # fmt: skip
    lines = lines_of(report(tried))
    assert "  status code: 200 → 500" in lines
    assert "  aaaaaaaa [log] from the draft" in lines
    assert lines[-1] == "1 event: 0 same, 0 differs, 0 diverged, 0 failed, 1 nondeterministic"


def test_no_recorded_events_says_what_to_do() -> None:
    [line] = report({"counts": {}, "jobs": []})
    assert "no recorded events" in line and "send" in line


def test_counts_name_the_four_results_even_when_none() -> None:
    assert counts_line({"differs": 2}, 2) == "2 events: 0 same, 2 differs, 0 diverged, 0 failed"


def test_a_syntax_error_points_at_its_line_and_column() -> None:
    source = "(async () => {\n\treturn { statusCode: 200 + };\n})()"
    problem = syntax_problem("script: SyntaxError: Unexpected token '}' (line 2, column 29)")
    assert (problem.message, problem.line, problem.column) == (
        "SyntaxError: Unexpected token '}'",
        2,
        29,
    )
    lines = lines_of(syntax_report("hook.js", source, problem))
    assert lines[0] == "hook.js:2:29: SyntaxError: Unexpected token '}'"
    assert lines[1] == "   return { statusCode: 200 + };"  # the tab is one column, as V8 counts
    assert lines[2].index("^") - 2 == 28 and lines[1][2 + 28] == "}"
    assert lines[-1] == "nothing saved: fix it and save again"


def test_a_syntax_error_without_a_column_or_a_line() -> None:
    at_end = syntax_problem("script: SyntaxError: Unexpected end of input (line 4)")
    assert (at_end.line, at_end.column) == (4, None)
    assert lines_of(syntax_report("f.js", "(() => {\n", at_end))[0] == (
        "f.js:4: SyntaxError: Unexpected end of input"
    )
    other = syntax_problem("script: must be a string")
    assert lines_of(syntax_report("f.js", "", other))[0] == "f.js: must be a string"
