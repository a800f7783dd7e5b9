"""Workspace-wide ranking hints are reused across generations for a while, exact answers not."""

from __future__ import annotations

from context.retrieve.view import WorkspaceView


class _Index:
    def __init__(self) -> None:
        self.generation = 1

    def files(self) -> list[str]:
        return []


def test_a_hint_survives_new_generations_until_it_is_old() -> None:
    now = [100.0]
    index = _Index()
    view = WorkspaceView(index, clock=lambda: now[0])
    made: list[int] = []

    def make() -> int:
        made.append(index.generation)
        return index.generation

    assert view.memo_hint(("stats",), make, max_age_s=60) == 1
    index.generation = 2  # a keystroke
    now[0] += 59
    assert view.memo_hint(("stats",), make, max_age_s=60) == 1
    assert view.memo(("exact",), make) == 2  # exact answers follow the generation
    now[0] += 2
    assert view.memo_hint(("stats",), make, max_age_s=60) == 2
    assert made == [1, 2, 2]
