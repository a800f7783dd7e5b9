"""Bad input never crashes the index: each case is skipped (with a reason) or indexed as it can."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from context.index import WorkspaceIndex
from context.index.extract import read_and_extract

from .helpers import write


def test_syntax_errors_index_what_parses(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "def ok():\n    pass\n\ndef bad(:\n    pass\n\nclass Fine:\n"
          "    def m(self):\n        return ok()\n")
    with WorkspaceIndex(tmp_path) as ix:
        stats = ix.refresh()
        assert stats.files == 1
        names = {s.qualname for s in ix.symbols_in("broken.py")}
        assert {"ok", "Fine"} <= names
        assert [r.path for r in ix.references("ok")] == ["broken.py"]


def test_huge_minified_js_is_skipped_by_size(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    line = "var a=function(b){return b+1};" * 1000 + "\n"
    with open(tmp_path / "bundle.min.js", "w") as f:
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            f.write(line)
    assert (tmp_path / "bundle.min.js").stat().st_size > 50 * 1024 * 1024
    write(tmp_path, "small.js", "function small() {}\n")
    with caplog.at_level(logging.INFO), WorkspaceIndex(tmp_path) as ix:
        stats = ix.refresh()
        assert ix.files() == ["small.js"]
    assert stats.skipped == {"too_large": 1}
    assert any("bundle.min.js" in r.getMessage() and "limit" in r.getMessage()
               for r in caplog.records)


def test_binary_named_py_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "image.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    write(tmp_path, "real.py", "def real():\n    pass\n")
    with WorkspaceIndex(tmp_path) as ix:
        stats = ix.refresh()
        assert ix.files() == ["real.py"]
    assert stats.skipped == {"binary": 1}


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "pkg/a.py", "def a():\n    pass\n")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "again")  # directory loop
    os.symlink("loop2.py", tmp_path / "loop1.py")  # file symlink loop
    os.symlink("loop1.py", tmp_path / "loop2.py")
    with WorkspaceIndex(tmp_path, use_git=False) as ix:
        stats = ix.refresh()
        assert ix.files() == ["pkg/a.py"]
    assert stats.skipped == {"symlink_loop": 2, "symlinked_dir": 1}


def test_file_deleted_while_being_read(tmp_path: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        write(tmp_path, name, f"def {name[0]}():\n    pass\n")

    def delete_next(done: int, total: int) -> None:
        if done == 1:  # files are read lazily in order: b.py is gone before it is read
            (tmp_path / "b.py").unlink()

    with WorkspaceIndex(tmp_path, workers=1) as ix:
        stats = ix.refresh(progress=delete_next)
        assert ix.files() == ["a.py", "c.py"]
    assert stats.skipped == {"vanished": 1}
    missing = read_and_extract(str(tmp_path / "gone.py"), "gone.py", "python", 1000, None)
    assert (missing.status, missing.reason) == ("skipped", "vanished")


def test_unreadable_directory(tmp_path: Path) -> None:
    write(tmp_path, "open/a.py", "def a():\n    pass\n")
    write(tmp_path, "locked/b.py", "def b():\n    pass\n")
    (tmp_path / "locked").chmod(0)
    try:
        with WorkspaceIndex(tmp_path, use_git=False) as ix:
            stats = ix.refresh()
            files = ix.files()
    finally:
        (tmp_path / "locked").chmod(0o755)
    if os.geteuid() == 0:
        # root reads through chmod 000: nothing to block, so the honest check is "no crash".
        assert files == ["locked/b.py", "open/a.py"]
        pytest.skip("running as root: chmod 000 does not block reads")
    assert files == ["open/a.py"]
    assert stats.skipped == {"unreadable_dir": 1}


def test_non_utf8_file_is_decoded_with_replacement(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "latin.py").write_bytes("# caf\xe9\ndef caf\xe9():\n    pass\n".encode("latin-1"))
    with caplog.at_level(logging.WARNING), WorkspaceIndex(tmp_path) as ix:
        ix.refresh()
        assert [s.start_line for s in ix.symbols_in("latin.py")] == [1]
        assert ix.file_text("latin.py") == "# caf\ufffd\ndef caf\ufffd():\n    pass\n"
    assert any("not valid UTF-8" in r.getMessage() for r in caplog.records)


def test_ignored_vendored_and_excluded_files(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "generated/\n*.gen.py\n!keep.gen.py\n")
    write(tmp_path, "app.py", "def app():\n    pass\n")
    write(tmp_path, "x.gen.py", "def gen():\n    pass\n")
    write(tmp_path, "keep.gen.py", "def keep():\n    pass\n")
    write(tmp_path, "generated/out.py", "def out():\n    pass\n")
    write(tmp_path, "node_modules/lib/index.js", "function lib() {}\n")
    write(tmp_path, "build/x.py", "def built():\n    pass\n")
    write(tmp_path, "docs/conf.py", "def conf():\n    pass\n")
    write(tmp_path, "notes.txt", "not code\n")
    with WorkspaceIndex(tmp_path, exclude=["docs/**"], use_git=False) as ix:
        stats = ix.refresh()
        assert ix.files() == ["app.py", "keep.gen.py"]
    assert stats.skipped == {"ignored_dir": 1, "vendored_dir": 2}
