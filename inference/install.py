"""How to install codeflow's optional parts: commands that work from the checkout in use.

codeflow is installed from a source checkout (`pip install -e '.[cpu]'`), not from a package
index, so a hint naming the package `codeflow` would fail. The commands here name the
interpreter that runs codeflow and the checkout it runs from, both found at run time.

ONNX Runtime comes in two wheels that install the same `onnxruntime` package and overwrite each
other's files: `onnxruntime` (CPU, the `cpu` extra) and `onnxruntime-gpu` (CUDA and CPU, the
`gpu` extra). Exactly one may be installed; `ort_packages` says which are, `ort_fix` how to get
to one.
"""

from __future__ import annotations

import importlib.metadata
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

ORT_PACKAGES = {"cpu": "onnxruntime", "gpu": "onnxruntime-gpu"}
PLACEHOLDER = "/path/to/codeflow"


def checkout_root() -> Path | None:
    """The source checkout this code runs from (editable install), or None."""
    root = Path(__file__).resolve().parents[1]
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "codeflow"' in text else None


def _pip() -> str:
    return f"{shlex.quote(sys.executable)} -m pip"


def pip_install(extra: str) -> str:
    """The command that installs codeflow with `extra` from its checkout."""
    root = checkout_root()
    return f"{_pip()} install -e {shlex.quote(f'{root or PLACEHOLDER}[{extra}]')}"


def ort_packages(version: Callable[[str], str] = importlib.metadata.version) -> dict[str, str]:
    """Installed ONNX Runtime distributions → version (`version` raises PackageNotFoundError
    for a missing one; tests pass their own)."""
    found: dict[str, str] = {}
    for name in ORT_PACKAGES.values():
        try:
            found[name] = version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def ort_fix(kind: str) -> str:
    """One line that leaves exactly one ONNX Runtime, `cpu` or `gpu`, whatever is installed now:
    both wheels are removed first (removing one deletes files the other shares)."""
    return (f"{_pip()} uninstall -y {' '.join(ORT_PACKAGES.values())} && "
            f"{pip_install(kind)}")
