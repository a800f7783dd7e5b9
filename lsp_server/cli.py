"""The `codeflow` command line: argument parsing and dispatch.

Each subcommand's work lives in `lsp_server/commands/<name>.py` (a `run(args) -> int` function),
imported only when that subcommand runs, so `codeflow serve` never pays for torch or the exporter.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the language server (stdio by default)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (debugging)")
    p.add_argument("--log-level", default="INFO", help="log level for the log file")
    p.add_argument("--stdio", action="store_true", help="use stdio (the default; accepted for "
                   "clients such as vscode-languageclient that always pass it)")


def _add_index(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="build or refresh the workspace index and git history store")
    p.add_argument("dir", help="workspace directory")
    p.add_argument("--json", action="store_true", help="print one JSON object of stats")
    p.add_argument("--no-history", action="store_true", help="skip the git history ingest")


def _add_context(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("context", help="assemble the prompt for a cursor and print its sections")
    p.add_argument("--workspace", required=True, help="workspace directory")
    p.add_argument("--file", help="file path relative to the workspace")
    p.add_argument("--line", type=int, help="0-based line")
    p.add_argument("--character", type=int, help="0-based UTF-16 column")
    p.add_argument("--text-file", help="use this file's text as the unsaved buffer")
    p.add_argument("--budget", type=int, help="token budget")
    p.add_argument("--batch", help="JSONL file of requests; prints one JSON line per request")
    p.add_argument("--model", help="model dir whose tokenizer and format are used")
    p.add_argument("--kind", default="completion", choices=["completion", "chat"])
    p.add_argument("--json", action="store_true", help="print JSON instead of the prompt text")


def _add_complete(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("complete", help="one inline completion at a position, printed")
    p.add_argument("--workspace", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--line", type=int, required=True)
    p.add_argument("--character", type=int, required=True)
    p.add_argument("--model", help="model dir (default: the bundled model)")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--timeout-ms", type=int, default=0,
                   help="cut the generation after this long, as the editor does "
                   "(completion.timeoutMs); 0: no limit (the default here)")
    p.add_argument("--json", action="store_true")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="Hugging Face checkpoint dir -> ONNX model dir")
    p.add_argument("hf_dir")
    p.add_argument("out_dir")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "int8"])
    p.add_argument("--no-verify", action="store_true", help="skip the ONNX vs PyTorch check")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="raw generation with the engine")
    p.add_argument("--model", help="model dir (default: the bundled model)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--prompt")
    g.add_argument("--prompt-ids", help="comma-separated token ids")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--provider", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=None,
                   help="onnxruntime intra-op threads (default: half the CPUs)")
    p.add_argument("--json", action="store_true")


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="say what codeflow found and what is missing")
    p.add_argument("--workspace", default=".", help="workspace to check the index of")
    p.add_argument("--model", help="model dir to check (default: configured or bundled)")
    p.add_argument("--stats", action="store_true", help="also print completion acceptance stats")
    p.add_argument("--json", action="store_true")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a scripted editor session against the real server")
    p.add_argument("--workspace", help="sample workspace (default: a copy of examples/)")
    p.add_argument("--model", help="model dir (default: the bundled model)")


def _add_settings_schema(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("settings-schema", help="print the settings schema (VS Code JSON); "
                       "--write/--check the files generated from it")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="regenerate package.json, the README "
                   "table and the Neovim defaults in the checkout")
    g.add_argument("--check", action="store_true", help="exit 1 if those files drifted")
    p.add_argument("--root", help="checkout dir (default: the one this package runs from)")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by tests)."""
    parser = argparse.ArgumentParser(prog="codeflow", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_serve, _add_index, _add_context, _add_complete, _add_export,
                _add_generate, _add_doctor, _add_demo, _add_settings_schema):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `codeflow` console script."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f"lsp_server.commands.{args.command.replace('-', '_')}")
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
