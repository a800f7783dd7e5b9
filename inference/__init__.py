"""The model: export (HF -> ONNX), the ONNX Runtime engine, and the backend protocol.

Imports only numpy, onnxruntime and tokenizers at run time; torch is needed only by
`inference.export`.
"""

from __future__ import annotations

from inference.backends import Backend, Delta, GenerateRequest, Generation, ScriptedBackend
from inference.cancel import Cancelled, CancelToken
from inference.engine import Engine
from inference.spec import KVSpec, ModelDirError, ModelSpec, default_model_dir

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
