"""Fix candidates without LSP: the code under test, prompts, patches, scratch copies, ranking."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions import fixing
from actions.fixing import Candidate, FixResult, Target
from actions.regions import Region
from actions.reports import Failure, failure_of, parse_junit
from actions.runner import run_tests
from actions.scratch import scratch_copy, verify
from lsp_server import config
from tests.unit.features.fixflow import DATA, GOOD_MEAN, WRONG_MEAN, answer, make_workspace

from .test_runner import REPORT

MEAN = Region(11, 14, "mean", "")


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("fixes") / "ws")


def _failures(ws: Path) -> list[Failure]:
    return [failure_of(o, ws) for o in parse_junit(REPORT, ws)[1:]]


def _read(ws: Path):
    return lambda p: (ws / p).read_text()


def test_target_from_the_deepest_frame_and_from_the_assertions_call(ws: Path) -> None:
    calc = (ws / "calc.py").read_text()
    for failure in _failures(ws):
        assert fixing.find_target(ws, failure, _read(ws)) == Target("calc.py", MEAN, calc)


def test_target_falls_back_to_the_test_function(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert 1 == 2\n")
    failure = Failure("test_x.py::test_x", "test_x.py", 1, "assert 1 == 2", "", None)
    target = fixing.find_target(tmp_path, failure, _read(tmp_path))
    assert (target.path, target.region) == ("test_x.py", Region(0, 1, "test_x", ""))


def test_fix_prompt_has_failure_test_code_and_flow(ws: Path) -> None:
    failure = _failures(ws)[0]
    target = Target("calc.py", MEAN, (ws / "calc.py").read_text())
    [system, user] = fixing.fix_messages(failure, "def test_mean(): ...\n", target, "commit abc x")
    assert system == {"role": "system", "content": fixing.SYSTEM}
    assert user["role"] == "user"
    for part in (
        "The test `test_calc.py::test_mean` fails:",
        failure.traceback,
        "The test (`test_calc.py`):\n```python\ndef test_mean(): ...\n```",
        "The code under test (`calc.py`, lines 12-15):\n```python\ndef mean(values):",
        "```diff\ncommit abc x\n```",
        "Fix `mean` so that the test passes",
    ):
        assert part in user["content"]


def test_patches_apply_or_say_why_not() -> None:
    text = (DATA / "calc.py").read_text()
    target = Target("calc.py", MEAN, text)
    assert fixing.patch(target, answer(GOOD_MEAN)) == ((DATA / "calc_good.py.in").read_text(), "")
    cases = {
        "I cannot help": "patch does not apply: the answer has no code block",
        answer("def median(values):\n    return 0\n"): (
            "patch does not apply: the answer does not define `mean`"
        ),
        answer("def mean(values:\n    return 0\n"): "patch does not apply: syntax error at line 12",
        answer(edits_region(text)): "patch does not apply: it changes nothing",
    }
    for reply, why in cases.items():
        assert fixing.patch(target, reply) == (None, why)


def edits_region(text: str) -> str:
    return "".join(text.splitlines(keepends=True)[11:15])


def test_scratch_copy_leaves_out_git_and_virtualenvs(ws: Path) -> None:
    (ws / ".venv").mkdir(exist_ok=True)
    (ws / ".venv" / "big.bin").write_text("x")
    scratch = scratch_copy(ws)
    try:
        assert sorted(p.name for p in scratch.iterdir()) == ["calc.py", "test_calc.py"]
        assert scratch.parent != ws.parent
    finally:
        import shutil

        shutil.rmtree(scratch.parent)


def _cand(i: int, text: str | None, verified: bool) -> Candidate:
    note = fixing.VERIFIED if verified else fixing.UNVERIFIED
    return Candidate(i, 0.0 if i == 0 else 0.8, i, text, verified, note, 1.0)


def test_offered_candidates_put_verified_first_and_drop_duplicates_and_failures() -> None:
    target = Target("calc.py", MEAN, "")
    result = FixResult(
        "n",
        target,
        (
            _cand(0, "wrong", False),
            _cand(1, None, False),
            _cand(2, "right", True),
            _cand(3, "wrong", False),
        ),
    )
    assert [c.index for c in result.offered()] == [2, 0]


def test_wrong_mean_still_fails_and_good_mean_passes_in_a_scratch_copy(ws: Path) -> None:
    import asyncio

    from lsp_server import config

    text = (ws / "calc.py").read_text()
    target = Target("calc.py", MEAN, text)
    scratch = scratch_copy(ws)
    cfg = config.TestsConfig(trusted=True)
    node = "test_calc.py::test_mean"
    try:
        outcomes = {}
        for name, code in (("wrong", WRONG_MEAN), ("good", GOOD_MEAN)):
            (scratch / "calc.py").write_text(fixing.patch(target, answer(code))[0])
            result = asyncio.run(run_tests(scratch, cfg, [node], cwd=scratch))
            outcomes[name] = [(o.node_id, o.status) for o in result.outcomes]
    finally:
        import shutil

        shutil.rmtree(scratch.parent)
    assert outcomes == {"wrong": [(node, "failed")], "good": [(node, "passed")]}
    assert (ws / "calc.py").read_text() == text


def test_an_unfenced_definition_is_accepted() -> None:
    text = (DATA / "calc.py").read_text()
    reply = f"Sure. {GOOD_MEAN}"
    assert fixing.patch(Target("calc.py", MEAN, text), reply) == (
        None,
        ("patch does not apply: the answer has no code block"),
    )
    reply = f"Sure.\n{GOOD_MEAN}"
    assert fixing.patch(Target("calc.py", MEAN, text), reply) == (
        (DATA / "calc_good.py.in").read_text(),
        "",
    )


def test_verification_never_writes_through_a_link_out_of_the_copy(tmp_path: Path) -> None:
    import asyncio

    ws = make_workspace(tmp_path / "ws", git=False)
    real = tmp_path / "elsewhere" / "calc.py"
    real.parent.mkdir()
    (ws / "calc.py").rename(real)
    (ws / "calc.py").symlink_to(real)
    copy = scratch_copy(ws)
    before = real.read_text()
    target = Target("calc.py", MEAN, before)
    good = fixing.patch(target, answer(GOOD_MEAN))[0]
    try:
        settings = config.TestsConfig(trusted=True)
        node = "test_calc.py::test_mean"
        got = asyncio.run(verify(ws, settings, copy, target, good, node))
    finally:
        import shutil

        shutil.rmtree(copy.parent)
    assert got == (False, 0.0, "unverified: the file is a link out of the workspace copy")
    assert real.read_text() == before
