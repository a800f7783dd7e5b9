"""Scratch copies: sources copied, dependency folders linked (never copied), build output and
VCS left out; a patch is never written through a link."""

from __future__ import annotations

import asyncio
from pathlib import Path

from actions.fixing import Target
from actions.regions import Region
from actions.scratch import remove_scratch, scratch_copy, verify
from lsp_server import config


def _tree(root: Path) -> Path:
    for rel, text in {
        "src/index.ts": "export const one = 1;\n",
        "node_modules/dep/index.js": "module.exports = 1;\n",
        "packages/a/node_modules/dep2/index.js": "module.exports = 2;\n",
        "packages/a/src/a.ts": "export const a = 1;\n",
        ".git/HEAD": "ref: refs/heads/main\n",
        "target/notes.txt": "a source folder named target in a non-Rust project\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_dependencies_are_linked_sources_copied_and_vcs_left_out(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ws")
    copy = scratch_copy(root)
    try:
        for rel in ("node_modules", "packages/a/node_modules"):
            assert (copy / rel).is_symlink()
            assert (copy / rel).resolve() == (root / rel).resolve()
        for rel in ("src/index.ts", "packages/a/src/a.ts", "target/notes.txt"):
            assert (copy / rel).is_file() and not (copy / rel).is_symlink()
        assert not (copy / ".git").exists()
        assert (copy / "node_modules/dep/index.js").read_text() == "module.exports = 1;\n"
    finally:
        remove_scratch(copy)
    assert (root / "node_modules/dep/index.js").is_file()  # removing the copy keeps them


def test_a_crates_target_is_left_out(tmp_path: Path) -> None:
    root = _tree(tmp_path / "crate")
    (root / "Cargo.toml").write_text('[package]\nname = "c"\nversion = "0.1.0"\n')
    copy = scratch_copy(root)
    try:
        assert not (copy / "target").exists()
        assert (copy / "Cargo.toml").is_file()
    finally:
        remove_scratch(copy)


def test_a_patch_is_never_written_into_a_linked_dependency(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ws")
    copy = scratch_copy(root)
    path = "node_modules/dep/index.js"
    target = Target(path, Region(0, 0, "", ""), (root / path).read_text())
    try:
        settings = config.TestsConfig(trusted=True, command="true")
        got = asyncio.run(verify(root, settings, copy, target, "changed\n", "t"))
    finally:
        remove_scratch(copy)
    assert got == (False, 0.0, "unverified: the file is a link out of the workspace copy")
    assert (root / path).read_text() == "module.exports = 1;\n"
