"""`codeflow doctor`: what codeflow found on this machine and what is missing, in plain words.

Exit status 0 when the server can serve completions, 1 when something it needs is missing.

A remote model server (`backend: remote`) is checked when `CODEFLOW_REMOTE_URL` is set, with
`CODEFLOW_REMOTE_MODEL` (served model name) and `CODEFLOW_REMOTE_KEY_ENV` (the name of the
variable holding the API key): reachable, model listed in /v1/models, one token generated.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RUNTIME_MODULES = (
    "pygls", "lsprotocol", "tree_sitter", "watchdog", "pygit2", "onnxruntime", "tokenizers",
    "numpy", "platformdirs",
)
LANGUAGES = ("python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp")


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it is fine, and what to do if not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{platform.python_version()} at {sys.executable}",
                 "" if ok else "codeflow needs Python 3.11 or newer")


def _version(name: str, mod: object) -> str:
    try:
        return importlib.metadata.version(name.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(mod, "__version__", "installed"))


def _packages() -> list[Check]:
    out = []
    for name in RUNTIME_MODULES:
        try:
            mod = importlib.import_module(name)
            out.append(Check(f"package {name}", True, _version(name, mod)))
        except ImportError as exc:
            out.append(Check(f"package {name}", False, str(exc),
                             "reinstall codeflow: pip install -e . (or `make setup`)"))
    try:
        importlib.import_module("torch")
        out.append(Check("torch (export/train only)", True, "installed", required=False))
    except ImportError:
        out.append(Check("torch (export/train only)", True, "not installed: fine for serving",
                         required=False))
    return out


def _grammars() -> list[Check]:
    try:
        from context.index import get_language
    except ImportError as exc:
        return [Check("grammars", False, f"index module unavailable: {exc}", "reinstall codeflow")]
    missing = []
    for lang in LANGUAGES:
        try:
            get_language(lang)
        except Exception as exc:  # noqa: BLE001 - any failure means the grammar is unusable
            missing.append(f"{lang} ({exc})")
    if missing:
        return [Check("grammars", False, "missing: " + ", ".join(missing),
                      "pip install the tree-sitter-<language> wheels (see pyproject.toml)")]
    return [Check("grammars", True, ", ".join(LANGUAGES))]


def _git() -> Check:
    exe = shutil.which("git")
    if exe is None:
        return Check("git", False, "git not found on PATH",
                     "install git for code-flow history (apt-get install git)", required=False)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    return Check("git", True, out.stdout.strip())


def _model(model: str | None) -> list[Check]:
    from inference import default_model_dir

    path = Path(model).expanduser() if model else default_model_dir()
    label = "bundled default" if not model else "configured"
    try:
        import onnxruntime as ort

        providers = ort.get_available_providers()
    except ImportError:
        providers = []
    cuda = "CUDAExecutionProvider" in providers
    checks = [Check("execution providers", bool(providers), ", ".join(providers) or "none",
                    "" if cuda else "CPU only; for a GPU: pip install 'codeflow[gpu]'")]
    try:
        from inference import Engine

        engine = Engine.load(path, provider="cpu")
        name = getattr(engine.spec, "name", "?")
        note = (" (a small offline model for trying codeflow; point `codeflow.modelPath` at a "
                "real model for real work)") if not model else ""
        checks.insert(0, Check("model", True, f"{label} model {name} at {path}{note}"))
    except Exception as exc:  # noqa: BLE001 - report whatever stops the model from loading
        checks.insert(0, Check("model", False, f"{label} model at {path}: {exc}",
                               "export one with `codeflow export HF_DIR OUT_DIR` and set "
                               "codeflow.modelPath, or reinstall codeflow for the bundled model"))
    return checks


def _index(workspace: str) -> list[Check]:
    from context.store import cache_dir, store_path

    from ..logs import log_file

    root = Path(workspace).resolve()
    store = store_path(root)
    state = f"{store} ({store.stat().st_size // 1024} KiB)" if store.exists() else (
        f"not built yet for {root} (run `codeflow index {workspace}`)")
    return [
        Check("cache dir", True, str(cache_dir())),
        Check("log file", True, str(log_file())),
        Check("index", True, state, required=False),
    ]


def _remote_settings(env: Mapping[str, str]) -> Any:
    from ..config import RemoteConfig

    return RemoteConfig(url=env.get("CODEFLOW_REMOTE_URL", ""),
                        model=env.get("CODEFLOW_REMOTE_MODEL", ""),
                        api_key_env=env.get("CODEFLOW_REMOTE_KEY_ENV", ""))


def _remote(model: str | None, env: Mapping[str, str]) -> list[Check]:
    """The remote server: reachable, the model listed, one token generated."""
    from inference import default_model_dir
    from inference.backends.remote import RemoteBackend, RemoteConfigError, RemoteError

    cfg = _remote_settings(env)
    model_dir = Path(model).expanduser() if model else default_model_dir()
    try:
        backend = RemoteBackend.from_config(cfg, model_dir, environ=env)
        served = [str(m.get("id", "")) for m in backend.models()]
    except RemoteConfigError as exc:
        return [Check("remote server", False, str(exc), "fix the remote settings")]
    except RemoteError as exc:
        return [Check("remote server", False, str(exc), _remote_fix(exc))]
    checks = [Check("remote server", True, f"{backend.transport.endpoint.url} answers; serves "
                    + (", ".join(served) or "no models"))]
    if cfg.model and cfg.model not in served:
        checks.append(Check("remote model", False, f"the server does not serve {cfg.model!r}",
                            "set CODEFLOW_REMOTE_MODEL / codeflow.remote.model to one of: "
                            + ", ".join(served)))
        return checks
    checks.append(Check("remote model", True, cfg.model or f"none named: the server picks "
                        f"{served[0] if served else '?'}"))
    return [*checks, _remote_tokenizer(backend), _remote_generation(backend)]


def _remote_tokenizer(backend: Any) -> Check:
    """Our tokenizer must split text as the server's does (prompts are budgeted with it)."""
    from inference.backends.remote import RemoteError, ServerTokenizer

    tok = backend.tokenizer
    if isinstance(tok, ServerTokenizer):
        return Check("remote tokenizer", True, "the server's own (/tokenize)")
    specials = backend.spec.special_tokens
    probe = (f"{specials.get('fim_prefix') or ''}def main():\n    return 42\n"
             f"{specials.get('fim_suffix') or ''}\n{specials.get('fim_middle') or ''}")
    server = ServerTokenizer(backend.transport, backend.model)
    try:
        if not server.probe():
            return Check("remote tokenizer", True, "the server offers no /tokenize to compare "
                         "with", required=False)
        theirs = server.encode(probe).ids
    except RemoteError as exc:
        return Check("remote tokenizer", True, f"not compared ({exc})", required=False)
    ours = list(tok.encode(probe, add_special_tokens=False).ids)
    where = backend.spec.model_dir
    if ours != theirs:
        return Check("remote tokenizer", False, f"the tokenizer in {where} splits text "
                     "differently from the server's: prompts would be cut and sent wrong",
                     "point --model / codeflow.modelPath at a dir holding the served model's "
                     "tokenizer.json")
    return Check("remote tokenizer", True, f"{where}/tokenizer.json agrees with the server")


def _remote_fix(exc: Exception) -> str:
    from inference.backends.remote import RemoteAuthError, RemoteHTTPError

    if isinstance(exc, RemoteAuthError):
        return ("put the team's key in the variable that CODEFLOW_REMOTE_KEY_ENV "
                "(codeflow.remote.apiKeyEnv) names")
    if isinstance(exc, RemoteHTTPError) and exc.status == 404:
        return ("CODEFLOW_REMOTE_URL (codeflow.remote.url) must point at an OpenAI-compatible "
                "server, e.g. http://host:8000/v1")
    return "start the server, or fix CODEFLOW_REMOTE_URL (codeflow.remote.url)"


def _remote_generation(backend: Any) -> Check:
    from inference.backends import GenerateRequest
    from inference.backends.remote import RemoteError

    ids = tuple(backend.tokenizer.encode("def main(", add_special_tokens=False).ids)
    try:
        gen = backend.generate(GenerateRequest(ids, max_tokens=1))
    except RemoteError as exc:
        return Check("remote generation", False, str(exc),
                     "see the server's log; the model may still be loading")
    ms = (backend.last_timing.done - backend.last_timing.built) * 1000
    return Check("remote generation", True,
                 f"1 token in {ms:.0f} ms: {gen.text!r} ({gen.stop_reason})")


def collect(args: argparse.Namespace) -> list[Check]:
    """Run every check."""
    remote = _remote(args.model, os.environ) if os.environ.get("CODEFLOW_REMOTE_URL") else []
    return [_python(), *_packages(), *_grammars(), _git(), *_model(args.model),
            *_index(args.workspace), *remote]


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when a required check failed."""
    checks = collect(args)
    failed = [c for c in checks if not c.ok and c.required]
    stats = None
    if args.stats:
        from ..features.metrics import MetricsStore

        stats = MetricsStore().summary()
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks],
                          "stats": stats}, indent=1))
        return 1 if failed else 0
    for c in checks:
        mark = "ok " if c.ok else ("!! " if c.required else "-- ")
        print(f"{mark}{c.name}: {c.detail}")
        if c.fix and not c.ok:
            print(f"   fix: {c.fix}")
    if stats is not None:
        print("completion stats (this machine only):")
        for key, value in stats.items():
            if key == "sources":
                for name, counts in sorted(value.items()):
                    print(f"   source {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            else:
                print(f"   {key}: {value}")
    print("codeflow can serve." if not failed else
          f"codeflow cannot serve: {len(failed)} problem(s) above.")
    return 1 if failed else 0
