"""Failing tests → diagnostics: the LSP side of the test loop (`features.tests`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from actions import reports
from lsp_server.features.failure_diagnostics import diagnostics_for
from tests.unit.actions.test_runner import MEAN_MSG, MEAN_TB, REPORT, SINGLE_MSG, SINGLE_TB

from .fixflow import make_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws", git=False)


def _rng(a: int, b: int, c: int) -> types.Range:
    return types.Range(types.Position(a, b), types.Position(a, c))


def test_diagnostics_carry_message_traceback_and_cross_links(ws: Path) -> None:
    failures = [reports.failure_of(o, ws) for o in reports.parse_junit(REPORT, ws)[1:]]
    by_uri = diagnostics_for(failures, ws, lambda p: (ws / p).read_text())
    test_uri, calc_uri = (ws / "test_calc.py").as_uri(), (ws / "calc.py").as_uri()
    assert sorted(by_uri) == sorted([test_uri, calc_uri])
    first, second = by_uri[test_uri]
    assert (first.range, first.source, first.code, first.data) == (
        _rng(8, 4, 31),
        "codeflow-tests",
        "test_calc.py::test_mean",
        {"nodeId": "test_calc.py::test_mean"},
    )
    assert first.message == f"test_calc.py::test_mean failed: {MEAN_MSG}\n\n{MEAN_TB}"
    assert first.related_information is None
    assert second.range == _rng(12, 4, 25)
    assert second.related_information[0].location.uri == calc_uri
    [deep] = by_uri[calc_uri]
    assert deep.range == _rng(14, 4, 32)
    assert (
        deep.message == f"test_calc.py::test_mean_single failed here: {SINGLE_MSG}\n\n{SINGLE_TB}"
    )
    assert deep.related_information[0].location.range == _rng(12, 4, 25)
