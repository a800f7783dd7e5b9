"""`codeflow export HF_DIR OUT_DIR [--dtype fp32|fp16|int8]`: checkpoint dir -> model dir."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    """Export, verify and write the model dir; exit 1 with the reason when it fails."""
    try:
        from inference.export import export_model
        from inference.export.onnx_export import RULE
        from inference.spec import ModelDirError
    except ImportError as exc:  # pragma: no cover - depends on the install
        from inference.install import pip_install

        print(f"codeflow export needs the export extra ({exc}): {pip_install('export')}",
              file=sys.stderr)
        return 1
    progress = logging.StreamHandler(sys.stderr)  # the long phases, with elapsed time
    progress.setFormatter(logging.Formatter("%(message)s"))
    exporter = logging.getLogger("inference.export")
    exporter.addHandler(progress)
    level, exporter.level = exporter.level, logging.INFO
    try:
        result = export_model(args.hf_dir, args.out_dir, dtype=args.dtype,
                              verify=not args.no_verify)
    except ModelDirError as exc:
        print(f"codeflow export: {exc}", file=sys.stderr)
        return 1
    finally:
        exporter.removeHandler(progress)
        exporter.setLevel(level)
    check = "not verified" if args.no_verify else (
        f"max abs logit diff {result.max_abs_diff:.2e}, top-1 agreement "
        f"{result.top1_agreement:.3f} (rule for {args.dtype}: {RULE[args.dtype]})")
    print(f"wrote {result.model_dir} ({result.spec.family}, {result.spec.architecture}, "
          f"{result.spec.dtype}); {check}; {result.seconds:.1f}s")
    return 0
