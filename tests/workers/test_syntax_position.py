"""A syntax error names its line and column (``hooklet dev`` and the API's
422 point at the character V8 stopped at)."""

from __future__ import annotations

import pytest

from workers.sandbox.syntax import check_syntax


@pytest.mark.parametrize(
    ("source", "expected", "character"),
    [
        ("(async () => {\n  return { n: 200 + };\n})()", "line 2, column 21", "}"),
        ("let x = ;", "line 1, column 9", ";"),
        ("\tfoo bar", "line 1, column 6", "b"),  # a tab is one column
        ("a\r\n  b c", "line 2, column 5", "c"),  # Windows line ends
    ],
)
def test_a_syntax_error_names_line_and_column(source: str, expected: str, character: str) -> None:
    error = check_syntax(source)
    assert error is not None and error.endswith(f"({expected})"), error
    line, column = (int(part.split()[-1]) for part in expected.split(", "))
    assert source.split("\n")[line - 1][column - 1] == character


def test_an_error_past_the_last_line_names_the_line_only() -> None:
    # V8 stops at new Function's own closing line: no column of the script's.
    assert check_syntax("(() => {\n  return 1;\n") == (
        "SyntaxError: Unexpected end of input (line 4)"
    )
