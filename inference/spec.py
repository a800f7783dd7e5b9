"""The model dir format: `codeflow-model.json` parsed into `ModelSpec`, and its errors.

A model dir holds `model.onnx` (+ `model.onnx.data` when large), `tokenizer.json` and
`codeflow-model.json`. This module reads and writes the json; the engine checks the rest.
Imports only the standard library (the server runs without torch).

Exceptions::

    ValueError
    └── ModelDirError      a model dir is missing, incomplete or inconsistent (message says the fix)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
MODEL_JSON = "codeflow-model.json"
MODEL_ONNX = "model.onnx"
TOKENIZER_JSON = "tokenizer.json"
FAMILIES = ("llama", "qwen2", "iquestcoder", "iquestloopcoder")
DTYPES = ("fp32", "fp16", "int8")
KV_CACHES = ("concat", "inplace")
"""How the graph keeps K/V: `concat` returns past ++ new each step (exports before in-place
K/V; still served), `inplace` writes into a preallocated buffer bound as past and present."""
INFILL_ORDERS = ("psm", "spm")
"""The orders a model may be trained to fill in: prefix-suffix-middle or suffix-prefix-middle."""


class ModelDirError(ValueError):
    """A model dir cannot be used; the message names the file and how to fix it."""


def default_model_dir() -> Path:
    """Where the bundled model lives: `inference/models/default`."""
    return Path(__file__).resolve().parent / "models" / "default"


def missing_model_message(model_dir: Path) -> str:
    """The text shown when a model dir does not exist."""
    return (
        f"no model dir at {model_dir}: build one with "
        f"`codeflow export HF_DIR {model_dir}` (a Hugging Face checkpoint dir), "
        "or pass --model DIR"
    )


@dataclass(frozen=True)
class KVSpec:
    """How the graph's KV cache is laid out (`loop`: shared + local caches per layer) and kept
    (`cache`: see KV_CACHES; absent in older model dirs, which are `concat`)."""

    layout: str
    num_layers: int
    num_kv_heads: int
    head_dim: int
    window: int | None = None
    num_heads: int | None = None
    cache: str = "concat"


@dataclass(frozen=True)
class ModelSpec:
    """Parsed `codeflow-model.json`; `raw` is its dict (for `PromptFormat.from_model_json`)."""

    name: str
    family: str
    architecture: str
    prompt_format: dict[str, str]
    special_tokens: dict[str, str | None]
    eos_token_ids: tuple[int, ...]
    max_context: int
    dtype: str
    kv: KVSpec
    provenance: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    model_dir: Path | None = None

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelSpec:
        """Read `codeflow-model.json` from a model dir; `ModelDirError` says what is wrong."""
        path = Path(model_dir) / MODEL_JSON
        if not Path(model_dir).is_dir():
            raise ModelDirError(missing_model_message(Path(model_dir)))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelDirError(
                f"{path} is missing: re-export the model with `codeflow export HF_DIR {model_dir}`"
            ) from exc
        except json.JSONDecodeError as exc:
            raise ModelDirError(f"{path} is not valid JSON ({exc}): re-export the model") from exc
        return cls.from_dict(data, Path(model_dir))

    @classmethod
    def from_dict(cls, data: dict[str, Any], model_dir: Path | None = None) -> ModelSpec:
        """Build from the json dict, checking the fields the engine relies on."""
        where = model_dir / MODEL_JSON if model_dir else MODEL_JSON
        try:
            kv = data["kv"]
            spec = cls(
                name=str(data.get("name", "")),
                family=str(data["family"]),
                architecture=str(data["architecture"]),
                prompt_format=dict(data.get("prompt_format", {})),
                special_tokens=dict(data.get("special_tokens", {})),
                eos_token_ids=tuple(int(i) for i in data.get("eos_token_ids", ())),
                max_context=int(data["max_context"]),
                dtype=str(data.get("dtype", "fp32")),
                kv=KVSpec(
                    layout=str(kv["layout"]),
                    num_layers=int(kv["num_layers"]),
                    num_kv_heads=int(kv["num_kv_heads"]),
                    head_dim=int(kv["head_dim"]),
                    window=None if kv.get("window") is None else int(kv["window"]),
                    num_heads=None if kv.get("num_heads") is None else int(kv["num_heads"]),
                    cache=str(kv.get("cache") or "concat"),
                ),
                provenance=dict(data.get("provenance", {})),
                format_version=int(data.get("format_version", FORMAT_VERSION)),
                model_dir=model_dir,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelDirError(
                f"{where} lacks or has a bad field ({exc!r}): re-export the model"
            ) from exc
        spec.check(where)
        return spec

    def check(self, where: object = MODEL_JSON) -> None:
        """Raise `ModelDirError` for values the engine cannot serve."""
        problems = []
        if self.format_version != FORMAT_VERSION:
            problems.append(f"format_version {self.format_version} (this codeflow reads 1)")
        if self.kv.layout not in ("dense", "loop"):
            problems.append(f"kv.layout {self.kv.layout!r}")
        if self.kv.cache not in KV_CACHES:
            problems.append(f"kv.cache {self.kv.cache!r}")
        if self.kv.layout == "loop" and not self.kv.window:
            problems.append("kv.window missing for a loop model")
        if self.dtype not in DTYPES:
            problems.append(f"dtype {self.dtype!r}")
        if self.infill not in INFILL_ORDERS:
            problems.append(f"prompt_format.infill {self.infill!r} (psm or spm)")
        if problems:
            raise ModelDirError(f"{where}: unsupported {', '.join(problems)}: re-export the model")

    @property
    def infill(self) -> str:
        """The infill order the model was trained on: "psm" (the default) or "spm"."""
        return str(self.prompt_format.get("infill") or "psm")

    @property
    def raw(self) -> dict[str, Any]:
        """The json dict (what `codeflow-model.json` holds)."""
        data = asdict(self)
        data.pop("model_dir")
        data["eos_token_ids"] = list(self.eos_token_ids)
        return data

    def save(self, model_dir: str | Path) -> Path:
        """Write `codeflow-model.json` into a model dir."""
        path = Path(model_dir) / MODEL_JSON
        path.write_text(json.dumps(self.raw, indent=2) + "\n", encoding="utf-8")
        return path
