"""Where a new test for a source file goes, and what kind of test to ask for, per language.

Python: an existing `test_<stem>.py` beside the file or in `tests/`, else one beside it;
JavaScript/TypeScript: `<stem>.test.<ext>`; Go: `<stem>_test.go`; Java: `<Stem>Test.java`;
Rust: the file itself (a `#[cfg(test)] mod tests` at its end); C/C++: `test_<stem>.<ext>`.
"""

from __future__ import annotations

from pathlib import Path

from .outline import language_of

__all__ = ["TEST_STYLE", "test_file_for"]

TEST_STYLE = {
    "python": "a pytest test module (imports and test functions)",
    "javascript": "a Vitest/Jest test file (imports, `describe`/`it`/`expect`)",
    "typescript": "a Vitest/Jest test file (imports, `describe`/`it`/`expect`)",
    "tsx": "a Vitest/Jest test file (imports, `describe`/`it`/`expect`)",
    "go": "a Go test file (same package, `testing`, `func TestXxx(t *testing.T)`)",
    "rust": "a `#[cfg(test)] mod tests` module with `#[test]` functions",
    "java": "a JUnit 5 test class",
    "c": "a test program with `assert`",
    "cpp": "a test program with `assert`",
}


def _name(path: Path, language: str | None) -> str:
    stem, suffix = path.stem, path.suffix
    if language in ("javascript", "typescript", "tsx"):
        return f"{stem}.test{suffix}"
    if language == "go":
        return f"{stem}_test.go"
    if language == "java":
        return f"{stem}Test.java"
    if language == "rust":
        return path.name
    return f"test_{stem}{suffix}"


def test_file_for(path: Path, root: Path) -> Path:
    """The test file for source `path`: an existing one (beside it or under `tests/`), else the
    conventional name beside it."""
    name = _name(path, language_of(path.name))
    for cand in (path.parent / name, root / "tests" / name):
        if cand.is_file():
            return cand
    return path.parent / name


test_file_for.__test__ = False  # type: ignore[attr-defined]
