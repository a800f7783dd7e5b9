"""The public names of `actions` (docs/CONTRACTS.md) and the shape of its values."""

from __future__ import annotations

import dataclasses

import pytest

import actions


def test_public_names() -> None:
    assert sorted(actions.__all__) == [
        "Candidate",
        "CommandError",
        "Failure",
        "FixResult",
        "Frame",
        "Interpreter",
        "NoInterpreter",
        "NotJUnit",
        "Outcome",
        "Region",
        "RunResult",
        "Target",
        "TextChange",
        "apply_changes",
        "build_command",
        "code_block",
        "enclosing_function",
        "failure_of",
        "find_target",
        "fix_messages",
        "function_named",
        "minimal_edits",
        "parse_junit",
        "patch",
        "replace_region",
        "run_tests",
        "scratch_copy",
        "verify",
    ]
    for name in actions.__all__:
        assert getattr(actions, name) is not None


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (actions.Region, ["start_line", "end_line", "name", "indent"]),
        (actions.TextChange, ["start_line", "start_col", "end_line", "end_col", "text"]),
        (actions.Frame, ["path", "line", "inside"]),
        (actions.Failure, ["node_id", "test_path", "test_line", "message", "traceback", "deepest"]),
        (actions.Target, ["path", "region", "text"]),
    ],
)
def test_values_are_frozen_with_contract_fields(cls: type, fields: list[str]) -> None:
    assert [f.name for f in dataclasses.fields(cls)] == fields
    assert cls.__dataclass_params__.frozen is True  # type: ignore[attr-defined]
