"""The public names of ``context.history`` (docs/CONTRACTS.md) and the shape of its values."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import context.history as history


def test_public_names() -> None:
    assert sorted(history.__all__) == [
        "BlameEntry",
        "CoChange",
        "Commit",
        "EditRing",
        "FileChange",
        "History",
        "HistoryStats",
        "Hunk",
        "RecentEdit",
        "UNCOMMITTED",
        "git_region_flow",
        "line_edit",
        "region_flow",
    ]
    for name in history.__all__:
        assert getattr(history, name) is not None


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (history.Commit, ["id", "author", "author_time", "summary", "message"]),
        (history.Hunk, ["path", "old_start", "old_lines", "new_start", "new_lines", "text"]),
        (history.FileChange, ["commit", "path", "old_path", "added", "removed", "hunks"]),
        (history.BlameEntry, ["commit", "start_line", "end_line", "age_s"]),
        (history.CoChange, ["path", "weight", "count"]),
        (history.RecentEdit, ["path", "start_line", "end_line", "before", "after", "timestamp"]),
        (
            history.HistoryStats,
            ["commits", "new_commits", "seconds", "head", "shallow", "available"],
        ),
    ],
)
def test_values_are_frozen_with_contract_fields(cls: type, fields: list[str]) -> None:
    assert [f.name for f in dataclasses.fields(cls)] == fields
    assert cls.__dataclass_params__.frozen is True  # type: ignore[attr-defined]


def test_constructor_signatures() -> None:
    params = inspect.signature(history.History).parameters
    assert list(params)[:5] == [
        "root",
        "store_path",
        "max_commits",
        "mass_change_files",
        "context_lines",
    ]
    assert (params["max_commits"].default, params["mass_change_files"].default) == (20000, 50)
    assert inspect.signature(history.EditRing).parameters["capacity"].default == 256
