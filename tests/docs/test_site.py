"""The docs site builds strictly, its search finds every route and setting,
and the README stays a front door whose links resolve."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT
from workers.settings import Settings

OPENAPI = ROOT / "app" / "openapi" / "openapi.yaml"
README_MAX_LINES = 250


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` into a temporary folder (never the repo)."""
    assert OPENAPI.is_file(), f"{OPENAPI} is missing: the API reference renders it"
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, f"mkdocs build failed:\n{result.stdout}\n{result.stderr}"
    return out


def _search_text(site: Path) -> str:
    index = json.loads((site / "search" / "search_index.json").read_text())
    return html.unescape(" ".join(d["title"] + " " + d["text"] for d in index["docs"]))


def test_site_builds_strictly_with_search(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "reference" / "api" / "index.html").is_file()
    assert (site / "search" / "search_index.json").is_file()


def test_search_finds_every_setting(site: Path) -> None:
    text = _search_text(site)
    names = [f"HOOKLET_{f.name.upper()}" for f in fields(Settings)]
    missing = [name for name in names if name not in text]
    assert not missing, f"settings not in docs/operations/configuration.md: {missing}"


def test_search_finds_every_route(site: Path) -> None:
    from app import create_app
    from workers.settings import load_settings

    app = create_app(load_settings({}, admin_token="docs"))
    text = _search_text(site)
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "routes.routed"):  # Flask's own; hooks' own routes
            continue
        parts = [re.escape(p) for p in re.split(r"<[^>]+>", rule.rule)]
        pattern = r"[<{][\w:]+[>}]".join(parts)
        if not re.search(pattern + r"(?![\w/])", text):
            missing.append(rule.rule)
    assert not missing, f"routes no docs page names: {missing}"


def test_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def _slug(heading: str) -> str:
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"[\s]+", "-", text)


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", path.read_text(), re.M)}


def test_readme_links_resolve() -> None:
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links, "README.md links nowhere"
    broken = []
    for link in links:
        if re.match(r"^[a-z]+:", link):
            continue  # http(s), mailto: not checked offline
        target, _, anchor = link.partition("#")
        path = ROOT / target if target else ROOT / "README.md"
        if not path.exists():
            broken.append(link)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(link)
    assert not broken, f"README.md links that do not resolve: {broken}"
