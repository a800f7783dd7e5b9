"""The model: export (HF -> ONNX), the ONNX Runtime engine, and the backend protocol.

Imports only numpy, onnxruntime and tokenizers at run time; torch is needed only by
`inference.export`. `Engine` (ONNX Runtime) is imported on first use, so that the server starts,
and says how to install ONNX Runtime, where it is missing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from inference.backends import Backend, Delta, GenerateRequest, Generation, ScriptedBackend
from inference.cancel import Cancelled, CancelToken
from inference.spec import KVSpec, ModelDirError, ModelSpec, default_model_dir

if TYPE_CHECKING:
    from inference.engine import Engine

__all__ = [
    "Backend",
    "CancelToken",
    "Cancelled",
    "Delta",
    "Engine",
    "GenerateRequest",
    "Generation",
    "KVSpec",
    "ModelDirError",
    "ModelSpec",
    "ScriptedBackend",
    "default_model_dir",
]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        return importlib.import_module("inference.engine").Engine
    raise AttributeError(f"module 'inference' has no attribute {name!r}")
