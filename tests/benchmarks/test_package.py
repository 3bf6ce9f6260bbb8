"""The benchmarks are one package (``benchmarks/``) that imports its helpers
without a circle, and neither it nor the shared process helpers
(``stackkit/``) import ``tests``: both import ``stackkit`` instead."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from stackkit.processes import ROOT

PACKAGES = ("benchmarks", "stackkit")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_nothing_imports_the_tests_or_the_old_scripts() -> None:
    old = {"bench", "loadgen", "bench_redis", "bench_isolation", "bench_console"}
    wrong = {
        name: sorted(i for i in _imports(path) if i.split(".")[0] in {"tests", *old})
        for name, path in _modules().items()
    }
    assert not {k: v for k, v in wrong.items() if v}


def test_no_import_circle() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _imports(path) if i in modules and i != name and i not in PACKAGES}
        for name, path in modules.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            raise AssertionError("import circle: " + " -> ".join([*trail, name]))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_every_module_imports_on_its_own() -> None:
    """Each module imported first, in a fresh set of modules: an import
    circle that only one entry point trips shows up here."""
    names = sorted(n for n in _modules() if n != "benchmarks.__main__")
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        f"    for loaded in [m for m in sys.modules if m.split('.')[0] in {PACKAGES!r}]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_bench_help_lists_every_scenario() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts/bench"), "--help"],
        cwd=ROOT,
        env={**os.environ, "HOOKLET_SKIP_BROWSER": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for scenario in ("engine", "async", "intake", "sync", "memory", "redis-memory"):
        assert scenario in done.stdout
    for scenario in ("isolation", "hostcalls", "console", "profile"):
        assert scenario in done.stdout


def test_soak_still_imports_the_bench_helpers() -> None:
    """scripts/soak.py imports ``Stack`` and ``RESULTS`` from ``bench``."""
    code = "import bench; print(bench.Stack.__module__, bench.RESULTS.name)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "scripts",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["benchmarks.stack", "bench-results"]
