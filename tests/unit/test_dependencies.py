"""Runtime dependencies are what runtime uses: every package in pyproject's `dependencies` is
imported by the shipped packages, and `codeflow doctor` requires nothing beyond them."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("lsp_server", "actions", "context", "inference")
DOCTOR = REPO / "lsp_server" / "commands" / "doctor.py"


def runtime_dependencies() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0] for spec in project["dependencies"]]


def modules_of(distribution: str, installed: Mapping[str, list[str]]) -> set[str]:
    """Top-level import names a distribution provides (its name when it is not installed)."""
    names = {mod for mod, dists in installed.items()
             if any(d.lower().replace("_", "-") == distribution.lower() for d in dists)}
    return names or {distribution.lower().replace("-", "_")}


def names_used(path: Path) -> set[str]:
    """Top-level modules a file imports, by statement or by name through importlib (the grammar
    wheels are loaded from a table of module names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            used.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            used.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if path != DOCTOR:  # the doctor names what it checks; naming is not using
                used.add(node.value)
    return used


def test_every_runtime_dependency_is_imported_by_the_shipped_packages() -> None:
    used = set().union(*(names_used(p) for pkg in SHIPPED for p in (REPO / pkg).rglob("*.py")))
    installed = importlib.metadata.packages_distributions()
    unused = [dist for dist in runtime_dependencies() if not modules_of(dist, installed) & used]
    assert unused == [], f"required in pyproject but never imported at run time: {unused}"


def test_doctor_needs_only_runtime_dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark-only package (pygit2) missing: doctor's package checks still pass."""
    from lsp_server.commands import doctor

    monkeypatch.setitem(sys.modules, "pygit2", None)  # import pygit2 -> ImportError
    monkeypatch.setitem(sys.modules, "torch", None)  # optional too (and slow to import)
    failing = [c.name for c in doctor._packages() if c.required and not c.ok]
    assert failing == []
