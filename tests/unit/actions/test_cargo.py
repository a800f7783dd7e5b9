"""`cargo test` as a runner, for real: the failing fixture's outcomes, the failure at the
assertion line, the code under test found through the failing line's call, and candidates
verified by re-running only that test in a scratch copy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from actions.cargo import cargo_command, parse_cargo
from actions.fixing import Target, find_target, patch
from actions.regions import Region
from actions.reports import failure_of
from actions.runner import native_runner, run_tests, runs_with
from actions.scratch import remove_scratch, scratch_copy, verify
from lsp_server import config

from .runner_fixtures import GOOD_RUST_MEAN, WRONG_RUST_MEAN, fenced, make_runner_workspace

pytestmark = pytest.mark.skipif(
    not Path(cargo_command()[0]).exists(), reason="cargo is not installed"
)
TRUSTED = config.TestsConfig(trusted=True)
NODE = "tests::mean_of_three"
MEAN = Region(4, 7, "mean", "")


@pytest.fixture(scope="module")
def crate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runner_workspace("cargo", tmp_path_factory.mktemp("cargo") / "calc")


def _read(root: Path):
    return lambda p: (root / p).read_text()


def test_a_crate_is_detected_and_said(crate: Path) -> None:
    assert native_runner(TRUSTED, crate) == "cargo"
    assert runs_with(TRUSTED, crate) == "cargo test (Cargo.toml in the workspace)"
    assert native_runner(config.TestsConfig(command="make check"), crate) is None


def test_the_failing_test_is_located_at_its_assertion(crate: Path) -> None:
    result = asyncio.run(run_tests(crate, TRUSTED))
    assert (result.ok, result.returncode) == (True, 101)
    assert sorted((o.node_id, o.status) for o in result.outcomes) == [
        (NODE, "failed"),
        ("tests::total_adds", "passed"),
    ]
    [failed] = [o for o in result.outcomes if o.status == "failed"]
    failure = failure_of(failed, crate)
    assert failure is not None
    assert (failure.test_path, failure.test_line, failure.deepest) == ("src/lib.rs", 20, None)
    assert "left: 6.0 right: 4.0" in failure.message
    target = find_target(crate, failure, _read(crate))
    assert target == Target("src/lib.rs", MEAN, (crate / "src/lib.rs").read_text())


def test_one_test_runs_alone(crate: Path) -> None:
    result = asyncio.run(run_tests(crate, TRUSTED, [NODE]))
    assert [(o.node_id, o.status) for o in result.outcomes] == [(NODE, "failed")]


def test_a_panic_in_the_code_under_test_is_the_deepest_frame(tmp_path: Path) -> None:
    crate = make_runner_workspace("cargo", tmp_path / "calc")
    lib = crate / "src/lib.rs"
    guard = '{ assert!(values.len() > 3, "too few"); values.len() - 1 }'
    lib.write_text(lib.read_text().replace("values.len() - 1", guard))
    result = asyncio.run(run_tests(crate, TRUSTED, [NODE]))
    [failure] = [failure_of(o, crate) for o in result.outcomes]
    assert failure is not None and failure.deepest is not None
    assert (failure.test_path, failure.test_line) == ("src/lib.rs", 20)
    assert (failure.deepest.path, failure.deepest.line) == ("src/lib.rs", 5)
    assert find_target(crate, failure, _read(crate)).region.name == "mean"


def test_only_the_good_patch_passes_in_a_scratch_copy(crate: Path) -> None:
    text = (crate / "src/lib.rs").read_text()
    target = Target("src/lib.rs", MEAN, text)
    copy = scratch_copy(crate)
    try:
        notes = []
        for code in (WRONG_RUST_MEAN, GOOD_RUST_MEAN):
            new_text, why = patch(target, fenced(code, "rust"))
            assert why == ""
            notes.append(asyncio.run(verify(crate, TRUSTED, copy, target, new_text, NODE))[::2])
    finally:
        remove_scratch(copy)
    assert notes == [(False, "unverified: test still fails"), (True, "verified: test passes")]
    assert (crate / "src/lib.rs").read_text() == text


def test_parse_cargo_reads_names_statuses_and_the_panic() -> None:
    out = (
        "running 2 tests\ntest a::ok_one ... ok\ntest a::bad ... FAILED\n\nfailures:\n\n"
        "---- a::bad stdout ----\nthread 'a::bad' panicked at src/a.rs:3:5:\nboom\n"
        "note: run with `RUST_BACKTRACE=1`\n\n\nfailures:\n    a::bad\n"
    )
    ok, bad = parse_cargo(out, Path("/nonexistent"))
    assert [(o.node_id, o.status) for o in (ok, bad)] == [
        ("a::ok_one", "passed"),
        ("a::bad", "failed"),
    ]
    assert (bad.test_path, bad.message) == ("src/a.rs", "boom")
    assert [(f.path, f.line) for f in bad.frames or ()] == [("src/a.rs", 2)]
