"""Jest as a runner, for real (`make runner-fixtures` installs it): the failing fixture's
outcomes from `jest --json`, the failure at the `expect` line, the code under test found through
the failing line's call, and only the good candidate passing in a scratch copy (whose
`node_modules` is the workspace's, linked, and which writes nothing into it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from actions.fixing import Target, find_target, patch
from actions.jest import is_jest_project, parse_jest
from actions.regions import Region
from actions.reports import failure_of
from actions.runner import native_runner, run_tests, runs_with
from actions.scratch import remove_scratch, scratch_copy, verify
from lsp_server import config

from .runner_fixtures import (
    GOOD_CJS_MEAN,
    WRONG_CJS_MEAN,
    fenced,
    jest_installed,
    make_runner_workspace,
)

needs_jest = pytest.mark.skipif(
    not jest_installed(), reason="run `make runner-fixtures` (npm ci of the Jest fixture)"
)
TRUSTED = config.TestsConfig(trusted=True)
NODE = "calc.test.js::calc > means"
MEAN = Region(4, 7, "mean", "")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_workspace("jest", tmp_path_factory.mktemp("jest") / "calc")


def _read(root: Path):
    return lambda p: (root / p).read_text()


@needs_jest
def test_a_jest_project_is_detected(project: Path) -> None:
    assert native_runner(TRUSTED, project) == "jest"
    assert runs_with(TRUSTED, project) == (
        "jest --json (package.json or jest.config.* in the workspace)"
    )
    command = config.TestsConfig(trusted=True, command="npx jest --ci")
    assert native_runner(command, project) is None


def test_a_jest_config_file_marks_a_project(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "node_modules" / ".bin").mkdir(parents=True)
    (tmp_path / "node_modules" / ".bin" / "jest").write_text("")
    assert not is_jest_project(tmp_path)
    (tmp_path / "jest.config.js").write_text("module.exports = {};\n")
    assert is_jest_project(tmp_path)


@needs_jest
def test_the_failing_test_is_located_at_its_expect(project: Path) -> None:
    result = asyncio.run(run_tests(project, TRUSTED))
    assert (result.ok, result.returncode) == (True, 1)
    assert [(o.node_id, o.status) for o in result.outcomes] == [
        ("calc.test.js::calc > adds", "passed"),
        (NODE, "failed"),
    ]
    failure = failure_of(result.outcomes[1], project)
    assert failure is not None
    assert (failure.test_path, failure.test_line, failure.deepest) == ("calc.test.js", 8, None)
    assert failure.message.splitlines() == [
        "expect(received).toBe(expected) // Object.is equality",
        "Expected: 4",
        "Received: 6",
    ]
    target = find_target(project, failure, _read(project))
    assert target == Target("calc.js", MEAN, (project / "calc.js").read_text())


@needs_jest
def test_one_test_runs_alone(project: Path) -> None:
    result = asyncio.run(run_tests(project, TRUSTED, [NODE]))
    ran = [(o.node_id, o.status) for o in result.outcomes if o.status != "skipped"]
    assert ran == [(NODE, "failed")]


@needs_jest
def test_only_the_good_patch_passes_in_a_scratch_copy(project: Path) -> None:
    text = (project / "calc.js").read_text()
    target = Target("calc.js", MEAN, text)
    modules = (project / "node_modules").resolve()
    before = sorted(p.name for p in modules.iterdir())
    copy = scratch_copy(project)
    try:
        assert (copy / "node_modules").is_symlink()
        notes = []
        for code in (WRONG_CJS_MEAN, GOOD_CJS_MEAN):
            new_text, why = patch(target, fenced(code, "js"))
            assert why == ""
            notes.append(asyncio.run(verify(project, TRUSTED, copy, target, new_text, NODE))[::2])
    finally:
        remove_scratch(copy)
    assert notes == [(False, "unverified: test still fails"), (True, "verified: test passes")]
    assert (project / "calc.js").read_text() == text
    assert sorted(p.name for p in modules.iterdir()) == before


def _report(base: Path, message: str, cases: list[dict] | None = None) -> str:
    suite = {"name": str(base / "calc.test.js"), "status": "failed", "message": message}
    return json.dumps({"testResults": [{**suite, "assertionResults": cases or []}]})


def test_a_throw_in_the_code_under_test_is_the_deepest_frame(tmp_path: Path) -> None:
    (tmp_path / "calc.test.js").write_text("")
    stack = (
        f"Error: too many\n    at mean ({tmp_path}/calc.js:6:11)\n"
        f"    at Object.<anonymous> ({tmp_path}/calc.test.js:9:12)\n"
        f"    at callAsyncCircusFn ({tmp_path}/node_modules/jest-circus/build/a.js:1:2)\n"
        "    at new Promise (<anonymous>)"
    )
    case = {"ancestorTitles": ["calc"], "title": "means", "status": "failed",
            "failureMessages": [stack]}
    [outcome] = parse_jest(_report(tmp_path, "", [case]), tmp_path)
    assert (outcome.node_id, outcome.message) == ("calc.test.js::calc > means", "too many")
    failure = failure_of(outcome, tmp_path)
    assert failure is not None and failure.deepest is not None
    assert (failure.test_path, failure.test_line) == ("calc.test.js", 8)
    assert (failure.deepest.path, failure.deepest.line) == ("calc.js", 5)


def test_a_test_file_that_fails_to_load_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "calc.test.js").write_text("")
    message = (
        "  ● Test suite failed to run\n\n    Cannot find module './calc' from 'calc.test.js'\n\n"
        '    > 1 | const { mean } = require("./calc");\n        |                  ^\n\n'
        "      at Resolver._throwModNotFoundError (node_modules/jest-resolve/build/index.js:1:2)\n"
        "      at Object.require (calc.test.js:1:18)\n"
    )
    [outcome] = parse_jest(_report(tmp_path, message), tmp_path)
    assert (outcome.node_id, outcome.status) == ("calc.test.js", "error")
    failure = failure_of(outcome, tmp_path)
    assert failure is not None
    assert (failure.test_path, failure.test_line) == ("calc.test.js", 0)
    assert failure.message == "Cannot find module './calc' from 'calc.test.js'"
