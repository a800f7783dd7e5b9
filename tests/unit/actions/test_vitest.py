"""Vitest as a runner, for real (`make runner-fixtures` installs it): the failing fixture's
outcomes from its JUnit reporter, the failure at the `expect` line, the code under test found
through the failing line's call, and only the good candidate passing in a scratch copy (whose
`node_modules` is the workspace's, linked, and which writes nothing into it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actions.fixing import Target, find_target, patch
from actions.regions import Region
from actions.reports import failure_of
from actions.runner import native_runner, run_tests, runs_with
from actions.scratch import remove_scratch, scratch_copy, verify
from actions.vitest import parse_vitest
from lsp_server import config

from .runner_fixtures import (
    GOOD_JS_MEAN,
    WRONG_JS_MEAN,
    fenced,
    make_runner_workspace,
    vitest_installed,
)

pytestmark = pytest.mark.skipif(
    not vitest_installed(), reason="run `make runner-fixtures` (npm ci of the Vitest fixture)"
)
TRUSTED = config.TestsConfig(trusted=True)
NODE = "calc.test.js::calc > means"
MEAN = Region(4, 7, "mean", "")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_workspace("vitest", tmp_path_factory.mktemp("vitest") / "calc")


def _read(root: Path):
    return lambda p: (root / p).read_text()


def test_a_vitest_project_is_detected(project: Path) -> None:
    assert native_runner(TRUSTED, project) == "vitest"
    assert runs_with(TRUSTED, project) == "vitest run (package.json in the workspace)"


def test_the_failing_test_is_located_at_its_expect(project: Path) -> None:
    result = asyncio.run(run_tests(project, TRUSTED))
    assert (result.ok, result.returncode) == (True, 1)
    assert [(o.node_id, o.status) for o in result.outcomes] == [
        ("calc.test.js::calc > adds", "passed"),
        (NODE, "failed"),
    ]
    failure = failure_of(result.outcomes[1], project)
    assert failure is not None
    assert (failure.test_path, failure.test_line, failure.deepest) == ("calc.test.js", 9, None)
    assert failure.message == "expected 6 to be 4 // Object.is equality"
    target = find_target(project, failure, _read(project))
    assert target == Target("calc.js", MEAN, (project / "calc.js").read_text())


def test_one_test_runs_alone(project: Path) -> None:
    result = asyncio.run(run_tests(project, TRUSTED, [NODE]))
    ran = [(o.node_id, o.status) for o in result.outcomes if o.status != "skipped"]
    assert ran == [(NODE, "failed")]


def test_only_the_good_patch_passes_in_a_scratch_copy(project: Path) -> None:
    text = (project / "calc.js").read_text()
    target = Target("calc.js", MEAN, text)
    modules = (project / "node_modules").resolve()
    before = sorted(p.name for p in modules.iterdir())
    copy = scratch_copy(project)
    try:
        assert (copy / "node_modules").is_symlink()
        notes = []
        for code in (WRONG_JS_MEAN, GOOD_JS_MEAN):
            new_text, why = patch(target, fenced(code, "js"))
            assert why == ""
            notes.append(asyncio.run(verify(project, TRUSTED, copy, target, new_text, NODE))[::2])
    finally:
        remove_scratch(copy)
    assert notes == [(False, "unverified: test still fails"), (True, "verified: test passes")]
    assert (project / "calc.js").read_text() == text
    assert sorted(p.name for p in modules.iterdir()) == before


def test_a_throw_in_the_code_under_test_is_the_deepest_frame(tmp_path: Path) -> None:
    xml = (
        '<testsuites><testsuite name="calc.test.js"><testcase classname="calc.test.js" '
        'name="calc &gt; means"><failure message="too many" type="Error">Error: too many\n'
        " ❯ mean calc.js:6:11\n ❯ calc.test.js:10:12\n</failure></testcase></testsuite>"
        "</testsuites>"
    )
    (tmp_path / "calc.test.js").write_text("")
    [outcome] = parse_vitest(xml, tmp_path)
    failure = failure_of(outcome, tmp_path)
    assert failure is not None and failure.deepest is not None
    assert (failure.test_path, failure.test_line) == ("calc.test.js", 9)
    assert (failure.deepest.path, failure.deepest.line) == ("calc.js", 5)
