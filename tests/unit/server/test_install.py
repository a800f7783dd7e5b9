"""One ONNX Runtime per environment, and install hints that work from the checkout.

`onnxruntime` and `onnxruntime-gpu` install the same `onnxruntime` package and overwrite each
other's files (with both, the CUDA provider can vanish), so no combination of extras may pull
both, doctor names the mix with the one-line fix, and every hint names a command that runs
here (codeflow is not on a package index).
"""

from __future__ import annotations

import importlib.metadata
import itertools
import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from inference.install import ORT_PACKAGES, checkout_root, ort_fix, ort_packages, pip_install
from lsp_server.commands.doctor import onnxruntime_packages

ROOT = Path(__file__).resolve().parents[3]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
ORT = set(ORT_PACKAGES.values())


def _ort_in(requirements: list[str]) -> set[str]:
    """ORT wheels a requirement list pulls, directly or through an `onnxruntime*` extra of
    another package (`optimum[onnxruntime-gpu]`)."""
    found = set()
    for line in requirements:
        req = Requirement(line)
        if req.name in ORT:
            found.add(req.name)
        found |= {extra for extra in req.extras if extra in ORT}
    return found


def test_core_dependencies_hold_no_onnxruntime() -> None:
    assert _ort_in(PROJECT["dependencies"]) == set()


def test_cpu_and_gpu_extras_each_hold_exactly_one() -> None:
    extras = PROJECT["optional-dependencies"]
    assert _ort_in(extras["cpu"]) == {"onnxruntime"}
    assert _ort_in(extras["gpu"]) == {"onnxruntime-gpu"}


def test_no_combination_of_extras_puts_both_into_one_environment() -> None:
    """Any set of extras other than cpu+gpu together holds at most one ORT wheel."""
    extras = PROJECT["optional-dependencies"]
    names = sorted(n for n in extras if n not in ("cpu", "gpu"))
    for size in range(len(names) + 1):
        for combo in itertools.combinations(names, size):
            for ort in ("cpu", "gpu"):
                reqs = PROJECT["dependencies"] + [r for n in (*combo, ort) for r in extras[n]]
                assert len(_ort_in(reqs)) == 1, (combo, ort, _ort_in(reqs))


def test_make_installs_the_cpu_runtime() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    extras = re.search(r"^EXTRAS \?= (\S+)", makefile, re.M)
    assert extras is not None and "cpu" in extras.group(1).split(",")
    assert "gpu" not in extras.group(1).split(",")


def _fake_versions(installed: dict[str, str]):
    def version(name: str) -> str:
        if name not in installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed[name]
    return version


def test_doctor_names_both_runtimes_and_the_one_line_fix() -> None:
    check = onnxruntime_packages(_fake_versions({"onnxruntime": "1.32.0",
                                                 "onnxruntime-gpu": "1.31.1"}))
    assert not check.ok
    assert "onnxruntime 1.32.0, onnxruntime-gpu 1.31.1" in check.detail
    assert ort_fix("gpu") in check.fix
    argv = shlex.split(ort_fix("gpu").split(" && ")[0])
    assert argv == [sys.executable, "-m", "pip", "uninstall", "-y", "onnxruntime",
                    "onnxruntime-gpu"]


def test_doctor_is_content_with_one_runtime_and_asks_for_one_when_none() -> None:
    assert onnxruntime_packages(_fake_versions({"onnxruntime-gpu": "1.31.1"})).ok
    assert onnxruntime_packages(_fake_versions({"onnxruntime": "1.32.0"})).ok
    none = onnxruntime_packages(_fake_versions({}))
    assert not none.ok and none.required
    assert pip_install("cpu") in none.fix


def test_ort_packages_reads_the_real_environment() -> None:
    found = ort_packages()
    assert len(found) == 1, found  # this test environment is a CPU install: `[cpu]`
    assert found == {"onnxruntime": importlib.metadata.version("onnxruntime")}


@pytest.mark.parametrize("extra", ["cpu", "gpu", "export", "train"])
def test_install_hint_is_a_command_for_this_checkout(extra: str) -> None:
    argv = shlex.split(pip_install(extra))
    assert argv[:5] == [sys.executable, "-m", "pip", "install", "-e"]
    target = re.fullmatch(r"(.+)\[(\w+)\]", argv[5])
    assert target is not None
    assert Path(target.group(1)) == ROOT == checkout_root()
    assert target.group(2) in PROJECT["optional-dependencies"]


def test_no_message_names_a_package_that_is_not_on_an_index() -> None:
    """`pip install 'codeflow[gpu]'` / `pip install codeflow` fail: codeflow installs from its
    checkout."""
    bad = re.compile(r"pip install '?codeflow\b")
    offenders = []
    for top in ("lsp_server", "inference", "context", "editors", "vscode-extension/src"):
        for path in (ROOT / top).rglob("*"):
            if path.suffix in (".py", ".ts", ".lua", ".md") and path.is_file():
                if bad.search(path.read_text(encoding="utf-8", errors="replace")):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
