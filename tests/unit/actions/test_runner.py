"""actions.runner and actions.reports: commands, JUnit XML, tracebacks, failures, real runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from actions import reports, runner
from actions.reports import Failure, Frame, NotJUnit, Outcome
from actions.runner import CommandError
from lsp_server import config
from tests.unit.features.fixflow import make_workspace

TRUSTED = config.TestsConfig(trusted=True, python=sys.executable)
MEAN_TB = (
    "def test_mean():\n>       assert mean([2, 4, 6]) == 4\nE       assert 6.0 == 4\n"
    "E        +  where 6.0 = mean([2, 4, 6])\n\ntest_calc.py:9: AssertionError"
)
SINGLE_TB = (
    "def test_mean_single():\n>       assert mean([5]) == 5\n               ^^^^^^^^^\n\n"
    "test_calc.py:13: \n" + "_ " * 40 + "\n\nvalues = [5]\n\n    def mean(values):\n"
    '        """Arithmetic mean of a non-empty list."""\n        count = len(values) - 1\n'
    ">       return total(values) / count\n               ^^^^^^^^^^^^^^^^^^^^^\n"
    "E       ZeroDivisionError: division by zero\n\ncalc.py:15: ZeroDivisionError"
)
MEAN_MSG = "assert 6.0 == 4\n +  where 6.0 = mean([2, 4, 6])"
SINGLE_MSG = "ZeroDivisionError: division by zero"


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "&#10;")
    )


REPORT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
    '<testsuite name="pytest" errors="0" failures="2" skipped="0" tests="3">'
    '<testcase classname="test_calc" name="test_total" time="0.000" />'
    f'<testcase classname="test_calc" name="test_mean"><failure message="{_esc(MEAN_MSG)}">'
    f"{_esc(MEAN_TB).replace('&#10;', chr(10))}</failure></testcase>"
    f'<testcase classname="test_calc" name="test_mean_single"><failure message="{SINGLE_MSG}">'
    f"{_esc(SINGLE_TB).replace('&#10;', chr(10))}</failure></testcase>"
    "</testsuite></testsuites>"
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws", git=False)


def test_default_command_is_pytest_with_the_workspaces_python(ws: Path) -> None:
    junit = Path("/tmp/r.xml")
    assert runner.build_command(TRUSTED, ws, junit) == [
        sys.executable,
        "-m",
        "pytest",
        "--junitxml=/tmp/r.xml",
        "-q",
    ]
    assert runner.build_command(TRUSTED, ws, junit, ["test_calc.py::test_mean"], scratch=True) == [
        sys.executable,
        "-m",
        "pytest",
        "--junitxml=/tmp/r.xml",
        "-q",
        "-p",
        "no:cacheprovider",
        "test_calc.py::test_mean",
    ]


def test_configured_commands_get_the_report_path(ws: Path) -> None:
    junit = Path("/tmp/r.xml")
    cfg = config.TestsConfig(command="tox -e py -- --junit={junitxml}")
    assert runner.build_command(cfg, ws, junit) == ["tox", "-e", "py", "--", "--junit=/tmp/r.xml"]
    cfg = config.TestsConfig(command="uv run pytest -x")
    assert runner.build_command(cfg, ws, junit, ["a.py::t"]) == [
        "uv",
        "run",
        "pytest",
        "-x",
        "--junitxml=/tmp/r.xml",
        "a.py::t",
    ]
    with pytest.raises(CommandError, match="only a pytest command can re-run a single test"):
        runner.build_command(config.TestsConfig(command="make test"), ws, junit, ["a.py::t"])
    with pytest.raises(CommandError, match="cannot be parsed"):
        runner.build_command(config.TestsConfig(command="run 'unclosed"), ws, junit)


def test_a_non_python_project_has_no_default_command(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text("package main\n")
    with pytest.raises(CommandError) as info:
        runner.build_command(TRUSTED, tmp_path, tmp_path / "r.xml")
    assert str(info.value) == (
        "no test command for this workspace: it does not look like a Python project; "
        "set codeflow.tests.command"
    )


def test_parse_junit_gives_node_ids_statuses_and_tracebacks(ws: Path) -> None:
    assert reports.parse_junit(REPORT, ws) == [
        Outcome("test_calc.py::test_total", "test_calc.py", "test_total", "passed", "", ""),
        Outcome(
            "test_calc.py::test_mean", "test_calc.py", "test_mean", "failed", MEAN_MSG, MEAN_TB
        ),
        Outcome(
            "test_calc.py::test_mean_single",
            "test_calc.py",
            "test_mean_single",
            "failed",
            SINGLE_MSG,
            SINGLE_TB,
        ),
    ]


def test_node_ids_of_classes_in_packages(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("")
    assert reports.node_id_of("tests.test_x.TestA", "test_b[1-2]", tmp_path) == (
        "tests/test_x.py::TestA::test_b[1-2]",
        "tests/test_x.py",
    )
    assert reports.node_id_of("", "test_calc", tmp_path) == ("test_calc", None)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<html><body>no</body></html>", "the test report is not JUnit XML (root element <html>)"),
        ("PASSED 3 tests", "the test report is not JUnit XML (syntax error: line 1, column 0)"),
    ],
)
def test_other_reports_are_refused(ws: Path, xml: str, message: str) -> None:
    with pytest.raises(NotJUnit) as info:
        reports.parse_junit(xml, ws)
    assert str(info.value) == message


def test_frames_are_workspace_relative_and_marked_inside(ws: Path) -> None:
    tb = SINGLE_TB + "\n\n/usr/lib/python3/x.py:3: in f\n.venv/lib/site.py:7: Error"
    assert reports.parse_frames(tb, ws) == [
        Frame("test_calc.py", 12, True),
        Frame("calc.py", 14, True),
        Frame("/usr/lib/python3/x.py", 2, False),
        Frame(".venv/lib/site.py", 6, False),
    ]


def test_failures_point_at_the_assertion_and_the_deepest_workspace_frame(ws: Path) -> None:
    mean, single = reports.parse_junit(REPORT, ws)[1:]
    assert reports.failure_of(mean, ws) == Failure(
        "test_calc.py::test_mean", "test_calc.py", 8, MEAN_MSG, MEAN_TB, None
    )
    assert reports.failure_of(single, ws) == Failure(
        "test_calc.py::test_mean_single",
        "test_calc.py",
        12,
        SINGLE_MSG,
        SINGLE_TB,
        Frame("calc.py", 14, True),
    )
    assert reports.failure_of(reports.parse_junit(REPORT, ws)[0], ws) is None


def test_an_error_without_frames_points_at_the_test_definition(ws: Path) -> None:
    outcome = Outcome(
        "test_calc.py::test_mean", "test_calc.py", "test_mean", "error", "", "E  boom"
    )
    assert reports.failure_of(outcome, ws) == Failure(
        "test_calc.py::test_mean", "test_calc.py", 7, "boom", "E  boom", None
    )


async def test_a_real_run_of_the_fixture(ws: Path) -> None:
    result = await runner.run_tests(ws, TRUSTED)
    assert (result.ok, result.returncode) == (True, 1)
    assert [(o.node_id, o.status) for o in result.outcomes] == [
        ("test_calc.py::test_total", "passed"),
        ("test_calc.py::test_mean", "failed"),
        ("test_calc.py::test_mean_single", "failed"),
    ]
    assert [reports.failure_of(o, ws) for o in result.outcomes[1:]] == [
        reports.failure_of(o, ws) for o in reports.parse_junit(REPORT, ws)[1:]
    ]


async def test_a_single_node_runs_alone(ws: Path) -> None:
    result = await runner.run_tests(ws, TRUSTED, ["test_calc.py::test_total"], cwd=ws)
    assert [(o.node_id, o.status) for o in result.outcomes] == [
        ("test_calc.py::test_total", "passed")
    ]
    assert result.returncode == 0


def _cmd(code: str) -> str:
    return f'{sys.executable} -c "{code}"'


@pytest.mark.parametrize(
    ("command", "timeout", "message"),
    [
        (
            _cmd("import time; time.sleep(60)"),
            1,
            "codeflow: the test command timed out after 1 s (codeflow.tests.timeoutS)",
        ),
        (
            "no-such-test-runner-xyz --all",
            10,
            "codeflow: the test command `no-such-test-runner-xyz` was not found",
        ),
        (
            _cmd("import sys; sys.exit('collected nothing')"),
            10,
            "codeflow: the test command failed (exit 1) without writing a JUnit XML report: "
            "collected nothing",
        ),
        (
            _cmd("print('ok')"),
            10,
            "codeflow: the test command wrote no JUnit XML report; put {junitxml} in "
            "codeflow.tests.command where the report should go",
        ),
        (
            _cmd("import sys; open(sys.argv[1], 'w').write('all good')") + " {junitxml}",
            10,
            "codeflow: the test report is not JUnit XML (syntax error: line 1, column 0)",
        ),
    ],
)
async def test_broken_commands_give_clear_messages(
    ws: Path, command: str, timeout: int, message: str
) -> None:
    cfg = config.TestsConfig(command=command, trusted=True, timeout_s=timeout)
    result = await runner.run_tests(ws, cfg)
    assert (result.ok, result.message, result.outcomes) == (False, message, ())
