"""`codeflow doctor`: what codeflow found on this machine and what is missing, in plain words.

Exit status 0 when the server can serve completions, 1 when something it needs is missing.

A remote model server (`backend: remote`) is checked when `CODEFLOW_REMOTE_URL` is set, with
`CODEFLOW_REMOTE_MODEL` (served model name), `CODEFLOW_REMOTE_KEY_ENV` (the name of the
variable holding the API key) and `CODEFLOW_REMOTE_MAX_CONTEXT` (codeflow.remote.maxContext):
reachable, model listed in /v1/models, the tokenizer and context length used, one token.
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
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inference.install import ort_fix, ort_packages, pip_install

RUNTIME_MODULES = (
    "pygls", "lsprotocol", "tree_sitter", "watchdog", "onnxruntime", "tokenizers", "numpy",
    "platformdirs",
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
            fix = ("install ONNX Runtime: " + pip_install("cpu") + " (CPU) or "
                   + pip_install("gpu") + " (NVIDIA GPU)") if name == "onnxruntime" else (
                "reinstall codeflow: " + pip_install("cpu") + " (or `make setup`)")
            out.append(Check(f"package {name}", False, str(exc), fix))
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


def onnxruntime_packages(
    version: Callable[[str], str] = importlib.metadata.version,
) -> Check:
    """Exactly one ONNX Runtime wheel: `onnxruntime` and `onnxruntime-gpu` overwrite each
    other's files, and with both the CUDA provider can vanish (`version`: for tests)."""
    found = ort_packages(version)
    detail = ", ".join(f"{name} {ver}" for name, ver in found.items()) or "none installed"
    if len(found) > 1:
        return Check("onnxruntime package", False, f"both installed ({detail}): they overwrite "
                     "each other's files and the CUDA provider can vanish",
                     f"keep one; for an NVIDIA GPU: {ort_fix('gpu')}   for the CPU only: "
                     f"{ort_fix('cpu')}", required=False)
    return Check("onnxruntime package", bool(found), detail,
                 "" if found else f"install one: {ort_fix('cpu')}")


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
                    "" if cuda else f"CPU only; for an NVIDIA GPU: {ort_fix('gpu')}"),
              onnxruntime_packages()]
    try:
        from inference import Engine

        engine = Engine.load(path, provider="cpu")
        name = getattr(engine.spec, "name", "?")
        note = (" (a small offline model for trying codeflow; point `codeflow.modelPath` at a "
                "real model for real work)") if not model else ""
        checks.insert(0, Check("model", True, f"{label} model {name} at {path}{note}"))
        checks.insert(1, _chat(path))
    except Exception as exc:  # noqa: BLE001 - report whatever stops the model from loading
        checks.insert(0, Check("model", False, f"{label} model at {path}: {exc}",
                               "export one with `codeflow export HF_DIR OUT_DIR` and set "
                               "codeflow.modelPath, or reinstall codeflow for the bundled model"))
    return checks


def _chat(path: Path) -> Check:
    """How chat talks to the model: its own template or ChatML, sampling, reasoning."""
    from inference.chatspec import ChatSpec

    spec = ChatSpec.load(path)
    s = spec.sampling
    sampling = ("greedy" if s.temperature == 0 else
                f"temperature {s.temperature:g}, top-p {s.top_p:g}, top-k {s.top_k}")
    if spec.template is None:
        return Check("chat", True, f"ChatML, {sampling} (the model dir has no "
                                   "chat_template.jinja; `codeflow export` copies it)")
    reasons = "; reasons (<think>…</think> shown apart)" if spec.reasoning else ""
    return Check("chat", True, f"the model's own chat template, {sampling}{reasons}")


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


def _tests_python(workspace: str) -> Check:
    """The Python the workspace's tests run with (before editor settings), and its pytest."""
    from actions.interpreter import NoInterpreter, child_env, resolve

    name = "tests python"
    try:
        interp = resolve(Path(workspace).resolve())
    except NoInterpreter as exc:
        return Check(name, False, str(exc), "create a .venv in the workspace", required=False)
    said = f"{interp.describe()}; codeflow.tests.python / tests.command override it"
    if interp.runner:
        return Check(name, True, said, required=False)
    probe = [*interp.argv, "-c", "import pytest; print(pytest.__version__)"]
    try:
        out = subprocess.run(probe, capture_output=True, text=True, timeout=30,
                             env=child_env(interp), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, False, f"{said}; it does not run: {exc}", required=False)
    if out.returncode != 0:
        return Check(name, False, f"{said}; it has no pytest",
                     f"{interp.argv[0]} -m pip install pytest", required=False)
    return Check(name, True, f"{said}; pytest {out.stdout.strip()}", required=False)


def _remote_settings(env: Mapping[str, str]) -> Any:
    from ..config import RemoteConfig

    return RemoteConfig(url=env.get("CODEFLOW_REMOTE_URL", ""),
                        model=env.get("CODEFLOW_REMOTE_MODEL", ""),
                        api_key_env=env.get("CODEFLOW_REMOTE_KEY_ENV", ""),
                        max_context=int(context) if (context := env.get(
                            "CODEFLOW_REMOTE_MAX_CONTEXT", "")).isdigit() else 0)


def _remote(model: str | None, env: Mapping[str, str]) -> list[Check]:
    """The remote server: reachable, the model listed, one token generated."""
    from inference.backends.remote import RemoteBackend, RemoteConfigError, RemoteError

    cfg = _remote_settings(env)
    model_dir = Path(model).expanduser() if model else None  # never the bundled model's
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
    return [*checks, *_remote_tokenizer(backend), _remote_generation(backend)]


def _remote_tokenizer(backend: Any) -> list[Check]:
    """Which tokenizer counts the prompts and which context length caps them (the backend
    chose both when it was built: the served model's own, see `RemoteBackend.from_config`)."""
    served = backend.served
    tokenizer = Check("remote tokenizer", True, served.tokenizer)
    if served.note:
        tokenizer = Check("remote tokenizer", False, served.note.removeprefix("codeflow: "),
                          "point --model / codeflow.modelPath at the served model's dir, or "
                          "leave it unset", required=False)
    context = Check("remote context", True,
                    f"{served.max_context} tokens ({served.context_source})")
    return [tokenizer, context]


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
            *_index(args.workspace), _tests_python(args.workspace), *remote]


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
