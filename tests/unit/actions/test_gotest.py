"""`go test -json` as a runner, for real: the failing fixture's outcomes, the failure at the
`t.Errorf` line, a panic's deepest workspace frame, the code under test found through the
failing line's call, and candidates verified by re-running only that test in a scratch copy."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from actions.fixing import Target, find_target, patch
from actions.gotest import go_command, parse_go
from actions.regions import Region
from actions.reports import failure_of
from actions.runner import native_runner, run_tests, runs_with
from actions.scratch import remove_scratch, scratch_copy, verify
from lsp_server import config

from .runner_fixtures import GOOD_GO_MEAN, WRONG_GO_MEAN, fenced, make_runner_workspace

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
TRUSTED = config.TestsConfig(trusted=True)
NODE = ".::TestMean"
MEAN = Region(12, 15, "Mean", "")


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_workspace("go", tmp_path_factory.mktemp("go") / "calc")


def _read(root: Path):
    return lambda p: (root / p).read_text()


def test_a_module_is_detected_and_one_test_has_its_command(module: Path) -> None:
    assert native_runner(TRUSTED, module) == "go"
    assert runs_with(TRUSTED, module) == "go test -json (go.mod in the workspace)"
    assert go_command([NODE])[1:] == ["test", "-json", "-run", "^TestMean$", "./."]
    assert go_command(["pkg/sub::TestA/case_1"])[-2:] == ["^TestA$/^case_1$", "./pkg/sub"]


def test_the_failing_test_is_located_at_its_errorf(module: Path) -> None:
    result = asyncio.run(run_tests(module, TRUSTED))
    assert (result.ok, result.returncode) == (True, 1)
    assert [(o.node_id, o.status) for o in result.outcomes] == [
        (".::TestTotal", "passed"),
        (NODE, "failed"),
    ]
    failure = failure_of(result.outcomes[1], module)
    assert failure is not None
    assert (failure.test_path, failure.test_line, failure.deepest) == ("calc_test.go", 12, None)
    assert failure.message == "Mean = 6, want 4"
    target = find_target(module, failure, _read(module))
    assert target == Target("calc.go", MEAN, (module / "calc.go").read_text())


def test_a_panic_in_the_code_under_test_is_the_deepest_frame(tmp_path: Path) -> None:
    root = make_runner_workspace("go", tmp_path / "calc")
    calc = root / "calc.go"
    guard = 'count := len(values) - 1\n\tif count > 1 {\n\t\tpanic("too many")\n\t}'
    calc.write_text(calc.read_text().replace("count := len(values) - 1", guard))
    result = asyncio.run(run_tests(root, TRUSTED, [NODE]))
    [failure] = [failure_of(o, root) for o in result.outcomes]
    assert failure is not None and failure.deepest is not None
    assert (failure.test_path, failure.test_line) == ("calc_test.go", 11)
    assert (failure.deepest.path, failure.deepest.line) == ("calc.go", 15)
    assert "panic: too many" in failure.message
    assert find_target(root, failure, _read(root)).region.name == "Mean"


def test_only_the_good_patch_passes_in_a_scratch_copy(module: Path) -> None:
    text = (module / "calc.go").read_text()
    target = Target("calc.go", MEAN, text)
    copy = scratch_copy(module)
    try:
        notes = []
        for code in (WRONG_GO_MEAN, GOOD_GO_MEAN):
            new_text, why = patch(target, fenced(code, "go"))
            assert why == ""
            notes.append(asyncio.run(verify(module, TRUSTED, copy, target, new_text, NODE))[::2])
    finally:
        remove_scratch(copy)
    assert notes == [(False, "unverified: test still fails"), (True, "verified: test passes")]
    assert (module / "calc.go").read_text() == text


def test_parse_go_maps_packages_to_directories(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/m\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a_test.go").write_text("package sub\n\nfunc TestA(t *testing.T) {\n}\n")
    out = "\n".join(
        [
            '{"Action":"output","Package":"example.com/m/sub","Test":"TestA",'
            '"Output":"    a_test.go:4: bad\\n"}',
            '{"Action":"fail","Package":"example.com/m/sub","Test":"TestA"}',
            "not json",
            '{"Action":"skip","Package":"example.com/m","Test":"TestB"}',
        ]
    )
    bad, skipped = parse_go(out, tmp_path)
    assert (bad.node_id, bad.test_path, bad.test_line, bad.message) == (
        "sub::TestA", "sub/a_test.go", 3, "bad",
    )
    assert (skipped.node_id, skipped.status) == (".::TestB", "skipped")
