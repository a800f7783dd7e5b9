"""One settings schema: lsp_server/config.py is the source; the VS Code extension's
`contributes.configuration`, the README table and the Neovim defaults must say the same."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lsp_server import schema
from lsp_server.cli import main
from lsp_server.config import Config, parse_config

ROOT = Path(__file__).resolve().parents[3]


def _package() -> dict:
    return json.loads((ROOT / "vscode-extension/package.json").read_text(encoding="utf-8"))


def test_vscode_declares_exactly_the_schema() -> None:
    """Every key, type, default, limit and description of package.json comes from config.py."""
    declared = _package()["contributes"]["configuration"]["properties"]
    expected = schema.vscode_configuration()["properties"]
    assert sorted(declared) == sorted(expected)
    for key, prop in expected.items():
        assert declared[key] == prop, key


def test_untrusted_workspaces_ignore_the_restricted_settings() -> None:
    trust = _package()["capabilities"]["untrustedWorkspaces"]
    assert trust["restrictedConfigurations"] == schema.restricted_configurations()
    assert "codeflow.tests.command" in trust["restrictedConfigurations"]


def test_settings_the_docs_name_are_declared_with_the_servers_limits() -> None:
    """The keys VS Code used to drop, and the limits the two sides disagreed on."""
    props = _package()["contributes"]["configuration"]["properties"]
    for key in ("remote.timeoutS", "remote.verifyTls", "context.exclude", "threads",
                "tests.timeoutS", "tests.python", "logLevel"):
        assert f"codeflow.{key}" in props, key
    assert props["codeflow.completion.maxTokens"]["maximum"] == 4096
    assert props["codeflow.context.budgetTokens"]["minimum"] == 64
    assert props["codeflow.chat.maxTokens"]["maximum"] == 32768
    assert "codeflow.completion.precompute" not in props


def test_no_generated_file_drifted() -> None:
    assert schema.drift(ROOT) == []


def test_drift_is_found(tmp_path: Path) -> None:
    """A checkout whose package.json lost a key, whose README says another default and whose
    Neovim defaults name an old key: each file is reported."""
    for rel in (Path("pyproject.toml"), schema.PACKAGE_JSON, schema.README, schema.NVIM_CONFIG):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((ROOT / rel).read_text(encoding="utf-8"), encoding="utf-8")
    pkg = json.loads((tmp_path / schema.PACKAGE_JSON).read_text(encoding="utf-8"))
    del pkg["contributes"]["configuration"]["properties"]["codeflow.remote.timeoutS"]
    (tmp_path / schema.PACKAGE_JSON).write_text(json.dumps(pkg, indent=2) + "\n")
    readme = (tmp_path / schema.README).read_text(encoding="utf-8")
    (tmp_path / schema.README).write_text(readme.replace("| `2048` (64–", "| `4096` (64–"))
    lua = (tmp_path / schema.NVIM_CONFIG).read_text(encoding="utf-8")
    (tmp_path / schema.NVIM_CONFIG).write_text(lua.replace("timeoutMs =", "precompute = false,"
                                                            "\n    timeoutMs ="))
    assert sorted(schema.drift(tmp_path)) == sorted(
        str(p) for p in (schema.PACKAGE_JSON, schema.README, schema.NVIM_CONFIG))
    assert main(["settings-schema", "--check", "--root", str(tmp_path)]) == 1
    assert main(["settings-schema", "--write", "--root", str(tmp_path)]) == 0
    assert schema.drift(tmp_path) == []


def test_every_schema_default_is_accepted_by_the_server() -> None:
    """What VS Code sends when nothing is set parses to the server's defaults, silently."""
    sent = {key.removeprefix("codeflow."): prop["default"]
            for key, prop in schema.vscode_configuration()["properties"].items()}
    assert parse_config(sent) == (Config(), [])


def test_values_outside_the_declared_limits_are_reported_by_the_server() -> None:
    for entry in schema.entries():
        if entry.hi is not None:
            _, problems = parse_config({entry.key: entry.hi + 1})
            assert problems and problems[0].startswith(f"codeflow.{entry.key}: "), entry.key
            assert parse_config({entry.key: entry.hi})[1] == [], entry.key
        if entry.choices and not entry.client:
            _, problems = parse_config({entry.key: "nope"})
            assert problems and problems[0].startswith(f"codeflow.{entry.key}: "), entry.key


def test_readme_table_lists_every_server_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([A-Za-z.]+)` \|", readme, re.M))
    assert listed == {e.key for e in schema.entries() if not e.client}


def test_settings_schema_prints_the_vscode_configuration(capsys) -> None:
    assert main(["settings-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema.vscode_configuration()
