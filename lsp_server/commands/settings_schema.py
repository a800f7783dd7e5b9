"""`codeflow settings-schema`: the settings schema, generated from `lsp_server/config.py`.

Prints the VS Code `contributes.configuration` object (types, defaults, limits, descriptions);
`--write` regenerates the files made from it in this checkout (the extension's package.json, the
README table, the Neovim defaults); `--check` exits 1 naming the files that drifted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def checkout_root() -> Path:
    """The source checkout this package runs from (where pyproject.toml is)."""
    return Path(__file__).resolve().parents[2]


def run(args: argparse.Namespace) -> int:
    """Print, write or check; exit 1 when `--check` finds drift or no checkout is found."""
    from .. import schema

    if not (args.write or args.check):
        print(json.dumps(schema.vscode_configuration(), indent=2, ensure_ascii=False))
        return 0
    root = Path(args.root) if args.root else checkout_root()
    if not (root / "pyproject.toml").is_file():
        print(f"codeflow settings-schema: {root} is not a codeflow checkout", file=sys.stderr)
        return 1
    if args.write:
        for path in schema.write(root):
            print(f"wrote {root / path}")
        return 0
    stale = schema.drift(root)
    for path in stale:
        print(f"{root / path} differs from lsp_server/config.py "
              "(run `codeflow settings-schema --write`)", file=sys.stderr)
    return 1 if stale else 0
