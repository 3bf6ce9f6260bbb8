"""``hooklet --version`` names the installed distribution's version (issue 22, item 4)."""

from __future__ import annotations

from importlib.metadata import version

from click.testing import CliRunner

from app.cli import main


def test_version_comes_from_the_package_metadata() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"hooklet, version {version('hooklet')}"
