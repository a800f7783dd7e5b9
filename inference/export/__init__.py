"""HF checkpoint dir -> ONNX model dir (needs the `export` extra: torch, transformers, onnx).

Importing this package is cheap; torch is imported when an export runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inference.export.onnx_export import ExportResult

__all__ = ["ExportMismatch", "ExportResult", "export_model"]


def export_model(hf_dir: Any, out_dir: Any, dtype: str = "fp32", verify: bool = True,
                 name: str | None = None, prompt_format: dict[str, str] | None = None,
                 kv_cache: str | None = None) -> ExportResult:
    """Export a checkpoint dir to a verified model dir (see `onnx_export.export_model`)."""
    from inference.export.onnx_export import export_model as run

    return run(hf_dir, out_dir, dtype=dtype, verify=verify, name=name, prompt_format=prompt_format,
               kv_cache=kv_cache)


def __getattr__(name: str) -> Any:
    if name in ("ExportMismatch", "ExportResult"):
        from inference.export import onnx_export

        return getattr(onnx_export, name)
    raise AttributeError(name)
