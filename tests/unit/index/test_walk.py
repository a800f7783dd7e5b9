"""Which files are indexed: gitignore semantics, git ls-files vs the walker, vendored dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from context.index.gitignore import matches_any, parse_lines
from context.index.walk import Walker, list_files

from .helpers import git, write


@pytest.mark.parametrize(("patterns", "path", "is_dir", "ignored"), [
    (["*.log"], "a/b/x.log", False, True),
    (["/top.py"], "top.py", False, True),
    (["/top.py"], "sub/top.py", False, False),
    (["build/"], "a/build", True, True),
    (["build/"], "a/build", False, False),
    (["docs/*.py"], "docs/a.py", False, True),
    (["docs/*.py"], "docs/x/a.py", False, False),
    (["**/gen/*.py"], "a/b/gen/x.py", False, True),
    (["a/**/z.py"], "a/z.py", False, True),
    (["a/**/z.py"], "a/b/c/z.py", False, True),
    (["*.py", "!keep.py"], "keep.py", False, False),
    (["*.py", "!keep.py"], "drop.py", False, True),
    (["file[0-9].py"], "file7.py", False, True),
    (["file?.py"], "fileab.py", False, False),
    (["# comment", "", "\\#hash.py"], "#hash.py", False, True),
    (["out"], "out/deep/x.py", False, True),
])
def test_gitignore_patterns(patterns: list[str], path: str, is_dir: bool, ignored: bool) -> None:
    assert matches_any(parse_lines(patterns), path, is_dir) is ignored


def _tree(root: Path) -> None:
    write(root, ".gitignore", "*.tmp.py\nlogs/\n/rootonly.py\n")
    write(root, "src/.gitignore", "secret.py\n!important.py\n")
    write(root, "src/app.py", "x = 1\n")
    write(root, "src/secret.py", "x = 1\n")
    write(root, "src/important.py", "x = 1\n")
    write(root, "src/rootonly.py", "x = 1\n")
    write(root, "rootonly.py", "x = 1\n")
    write(root, "a.tmp.py", "x = 1\n")
    write(root, "logs/l.py", "x = 1\n")
    write(root, "node_modules/m/index.js", "x = 1\n")
    write(root, "target/debug/b.rs", "fn b() {}\n")
    write(root, "lib/util.ts", "export const y = 2;\n")
    write(root, "README.md", "# hi\n")


def test_walker_and_git_ls_files_agree(tmp_path: Path) -> None:
    _tree(tmp_path)
    walked = Walker(tmp_path).walk()
    assert sorted(walked.files) == ["lib/util.ts", "src/app.py", "src/important.py",
                                    "src/rootonly.py"]
    assert Walker(tmp_path).git_files() is None  # not a repo yet
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "src/app.py")
    git(tmp_path, "commit", "-qm", "one")
    listed = Walker(tmp_path).git_files()
    assert listed is not None and listed.method == "git"
    assert listed.files == walked.files
    assert list_files(tmp_path).method == "git"
    assert list_files(tmp_path, use_git=False).method == "walk"


def test_exclude_globs_and_wanted(tmp_path: Path) -> None:
    _tree(tmp_path)
    walker = Walker(tmp_path, exclude=("lib/**", "*important*"))
    assert sorted(walker.walk().files) == ["src/app.py", "src/rootonly.py"]
    assert walker.wanted("src/app.py") == "python"
    assert walker.wanted("src/secret.py") is None
    assert walker.wanted("logs/new.py") is None
    assert walker.wanted("node_modules/x.js") is None
    assert walker.wanted("lib/util.ts") is None
    assert walker.wanted("README.md") is None
