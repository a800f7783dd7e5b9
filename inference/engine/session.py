"""One ONNX Runtime session of a codeflow graph: names, dtypes and KV layout read from the graph.

`OrtSession.run` takes a chunk of token ids and the cache state (one array per `past.*` input,
numpy or `OrtValue`) and returns the logits of the last positions and the new state. With I/O
binding the present K/V stay where the provider put them (device memory on CUDA) and are bound
straight back as the next past; the same path runs, and is tested, on the CPU provider.

In-place graphs (`GraphLayout.inplace`, see `inference.export.graph`) take as state a list: a
`KVBuffer` (bound as both `past.*` and `present.*`, always with I/O binding; the graph writes
the chunk's K/V into it, `seqlens_k` / `total_sequence_length` say how many rows are valid),
then for Loop graphs the local K/V arrays as in the concatenating graph.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from inference.engine.kvbuffer import BufferShape, KVBuffer
from inference.install import ort_fix
from inference.spec import ModelDirError

log = logging.getLogger(__name__)

_LOAD_ERRORS = (ort_state.Fail, ort_state.InvalidArgument, ort_state.InvalidGraph,
                ort_state.InvalidProtobuf, ort_state.NoSuchFile, ort_state.NotImplemented,
                ort_state.RuntimeException)
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class GraphLayout:
    """What the graph says about itself."""

    past_names: tuple[str, ...]
    present_names: tuple[str, ...]
    num_layers: int
    num_kv_heads: int
    head_dim: int
    kv_dtype: type
    vocab_size: int
    loop: bool
    inplace: bool = False
    max_positions: int | None = None
    aliases: tuple[tuple[str, int], ...] = ()
    """In-place graphs: further outputs bound to a state buffer (name, index in past_names)."""

    @property
    def buffered(self) -> int:
        """How many state inputs (the first ones) an in-place graph writes into."""
        return 2 * self.num_layers if self.inplace else 0

    @property
    def local_slice(self) -> slice:
        """Positions of the Loop local (pass-2) caches in the state list."""
        return slice(2 * self.num_layers, len(self.past_names))


def choose_providers(provider: str) -> list[str]:
    """Providers to try for `auto` / `cpu` / `cuda` (ValueError: CUDA asked for, absent)."""
    available = ort.get_available_providers()
    if provider == "cpu":
        return [CPU]
    if provider == "cuda":
        if CUDA not in available:
            raise ValueError(
                "provider 'cuda' asked for but onnxruntime has no CUDA provider: "
                f"install onnxruntime-gpu ({ort_fix('gpu')}) or use provider 'cpu'"
            )
        return [CUDA, CPU]
    if provider == "auto":
        return [CUDA, CPU] if CUDA in available else [CPU]
    raise ValueError(f"provider {provider!r}: use auto, cpu or cuda")


def default_threads(cpus: int | None = None) -> int:
    """Intra-op threads when none are configured: half the CPUs (about the physical cores),
    at least one, so the editor, the LSP loop and retrieval keep a core. On a busy 2-core
    machine one thread prefills a 2K prompt about twice as fast as two spinning threads
    (bench/big_repo.py)."""
    cpus = os.cpu_count() if cpus is None else cpus
    return max(1, (cpus or 2) // 2)


def session_options(threads: int | None, prepack: bool = True) -> ort.SessionOptions:
    """Graph optimisation on, sequential execution, `threads` intra-op threads (None:
    `default_threads()`) that sleep rather than spin between runs (they would otherwise take
    the CPU from everything else between the tokens of a decode). ``prepack=False`` keeps
    onnxruntime from repacking the MatMul weights (a second copy of them: for one-off runs,
    such as the export's verification, where memory matters more than speed) and from
    planning one memory block for a whole run (on CPU an fp16 graph casts each weight to fp32
    as it runs; a planned block holds all those casts at once: +2x the fp16 weights)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = int(threads or default_threads())
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    if not prepack:
        opts.add_session_config_entry("session.disable_prepacking", "1")
        opts.enable_mem_pattern = False
    return opts


def read_layout(session: ort.InferenceSession, path: Path) -> GraphLayout:
    """Input/output names, KV shapes and dtypes from the graph; `ModelDirError` if foreign."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    past = tuple(n for n in inputs if n.startswith("past"))
    present = tuple("present" + n[len("past"):] for n in past)
    missing = [n for n in ("input_ids", "num_logits") if n not in inputs]
    missing += [n for n in ("logits", *present) if n not in outputs]
    if missing or not past:
        raise ModelDirError(
            f"{path} is not a codeflow graph (missing {missing or ['past.* inputs']}): "
            "re-export it with `codeflow export HF_DIR OUT_DIR`"
        )
    first = inputs[past[0]]
    kv_dtype = _NUMPY_TYPES.get(first.type)
    if kv_dtype is None:
        raise ModelDirError(f"{path}: KV dtype {first.type} not supported: re-export the model")
    _, kv_heads, _, head_dim = first.shape
    vocab = outputs["logits"].shape[-1]
    num_layers = sum(1 for n in past if n.startswith("past.") and n.endswith(".key"))
    props = session.get_modelmeta().custom_metadata_map
    positions = props.get("codeflow.max_positions")
    aliases = tuple((n, past.index("past." + n[len("present_global."):])) for n in outputs
                    if n.startswith("present_global.") and
                    "past." + n[len("present_global."):] in past)
    return GraphLayout(past, present, num_layers, int(kv_heads), int(head_dim), kv_dtype,
                       int(vocab), loop=any(n.startswith("past_local") for n in past),
                       inplace="seqlens_k" in inputs,
                       max_positions=int(positions) if positions else None,
                       aliases=aliases)


class OrtSession:
    """Owns an `InferenceSession` (+ I/O binding) of one codeflow graph."""

    def __init__(self, session: ort.InferenceSession, path: Path, layout: GraphLayout,
                 io_binding: bool) -> None:
        self.session = session
        self.path = path
        self.layout = layout
        self.provider = session.get_providers()[0]
        self.device = "cuda" if self.provider == CUDA else "cpu"
        self.io_binding = io_binding

    @classmethod
    def open(cls, path: str | Path, provider: str = "auto", threads: int | None = None,
             io_binding: bool | None = None, prepack: bool = True) -> OrtSession:
        """Load a graph; `io_binding=None` means on for CUDA, off for CPU; ``prepack``: see
        `session_options`."""
        path = Path(path)
        if not path.is_file():
            raise ModelDirError(f"{path} is missing: re-export with `codeflow export HF_DIR DIR`")
        providers = choose_providers(provider)
        try:
            session = ort.InferenceSession(str(path), session_options(threads, prepack),
                                           providers=providers)
        except _LOAD_ERRORS as exc:
            raise ModelDirError(
                f"{path} cannot be loaded by onnxruntime ({type(exc).__name__}: "
                f"{str(exc)[:200]}): the file is truncated or not a codeflow graph; "
                "re-export it with `codeflow export HF_DIR OUT_DIR`"
            ) from exc
        layout = read_layout(session, path)
        chosen = session.get_providers()[0]
        if provider == "cuda" and chosen != CUDA:
            raise ValueError("the CUDA provider failed to load (see onnxruntime's log); "
                             "check the CUDA/cuDNN install or use provider 'cpu'")
        binding = chosen == CUDA if io_binding is None else io_binding
        log.info("loaded %s on %s (io binding %s)", path, chosen, binding)
        return cls(session, path, layout, binding)

    def empty_state(self) -> list[Any]:
        """Zero-length past for every cache input (in-place graphs: an empty `KVBuffer` for
        the buffered ones)."""
        shape = (1, self.layout.num_kv_heads, 0, self.layout.head_dim)
        empty = np.zeros(shape, self.layout.kv_dtype)
        if self.layout.inplace:
            rest = self.layout.past_names[self.layout.buffered:]
            return [self.new_buffer(), *(self.to_state(empty) for _ in rest)]
        return [self.to_state(empty) for _ in self.layout.past_names]

    def new_buffer(self) -> KVBuffer:
        """An empty K/V buffer set for this in-place graph (allocated on first use)."""
        layout = self.layout
        return KVBuffer(BufferShape(layout.buffered, layout.num_kv_heads, layout.head_dim,
                                    layout.kv_dtype, self.device, layout.max_positions))

    @staticmethod
    def to_state(array: np.ndarray) -> Any:
        """A host array as state. With I/O binding it is copied to the device when next bound;
        what the graph returns stays there (so KV lives on the device between steps)."""
        return np.ascontiguousarray(array)

    @staticmethod
    def to_numpy(value: Any) -> np.ndarray:
        """State value -> host numpy array."""
        return value if isinstance(value, np.ndarray) else value.numpy()

    def run(self, ids: np.ndarray | list[int], state: list[Any], num_logits: int = 1
            ) -> tuple[np.ndarray, list[Any]]:
        """One chunk: (logits [num_logits, vocab] float32, present state)."""
        input_ids = np.asarray(ids, dtype=np.int64).reshape(1, -1)
        keep = np.array(min(num_logits, input_ids.shape[1]), dtype=np.int64)
        if self.layout.inplace:
            return self._run_inplace(input_ids, keep, state)
        if self.io_binding:
            return self._run_bound(input_ids, keep, state)
        feeds = {"input_ids": input_ids, "num_logits": keep}
        feeds.update(zip(self.layout.past_names, state, strict=True))
        outs = self.session.run(None, feeds)
        names = [o.name for o in self.session.get_outputs()]
        by_name = dict(zip(names, outs, strict=True))
        present = [by_name[n] for n in self.layout.present_names]
        return by_name["logits"][0].astype(np.float32, copy=False), present

    def _run_bound(self, input_ids: np.ndarray, keep: np.ndarray, state: list[Any]
                   ) -> tuple[np.ndarray, list[Any]]:
        binding = self.session.io_binding()
        binding.bind_cpu_input("input_ids", input_ids)
        binding.bind_cpu_input("num_logits", keep)
        for name, value in zip(self.layout.past_names, state, strict=True):
            if isinstance(value, np.ndarray):
                binding.bind_cpu_input(name, value)
            else:
                binding.bind_ortvalue_input(name, value)
        binding.bind_output("logits", "cpu")
        for name in self.layout.present_names:
            binding.bind_output(name, self.device)
        self.session.run_with_iobinding(binding)
        outs = binding.get_outputs()
        names = ["logits", *self.layout.present_names]
        by_name = dict(zip(names, outs, strict=True))
        logits = by_name["logits"].numpy()[0].astype(np.float32, copy=False)
        return logits, [by_name[n] for n in self.layout.present_names]

    def _run_inplace(self, input_ids: np.ndarray, keep: np.ndarray, state: list[Any]
                     ) -> tuple[np.ndarray, list[Any]]:
        """One chunk written into the state's `KVBuffer` (grown first if needed), which is
        returned as the present state's first item, the same object. Its buffers are bound
        once (per allocation); each step binds the ids, the lengths and any local K/V."""
        kv, local = state[0], state[1:]
        layout = self.layout
        total = kv.length + input_ids.shape[1]
        kv.reserve(total)
        if kv.binding is None:
            kv.binding = self.session.io_binding()
            kv.binding.bind_output("logits", "cpu")
            buffered = slice(0, layout.buffered)
            for past, present, value in zip(layout.past_names[buffered],
                                            layout.present_names[buffered], kv.values,
                                            strict=True):
                kv.binding.bind_ortvalue_input(past, value)
                kv.binding.bind_ortvalue_output(present, value)
            for name, index in layout.aliases:
                kv.binding.bind_ortvalue_output(name, kv.values[index])
        binding = kv.binding
        binding.bind_cpu_input("input_ids", input_ids)
        binding.bind_cpu_input("num_logits", keep)
        binding.bind_cpu_input("seqlens_k", np.array([total - 1], dtype=np.int32))
        binding.bind_cpu_input("total_sequence_length", np.array(total, dtype=np.int32))
        binding.bind_output("logits", "cpu")  # unbound again: its shape changes per chunk
        local_names = zip(layout.past_names[layout.buffered:],
                          layout.present_names[layout.buffered:], local, strict=True)
        for past, present, value in local_names:
            binding.bind_cpu_input(past, OrtSession.to_numpy(value))
            binding.bind_output(present, "cpu")
        self.session.run_with_iobinding(binding)
        outs = binding.get_outputs()
        logits = outs[0].numpy()[0].astype(np.float32, copy=False)
        kv.length = total
        return logits, [kv, *outs[1 + layout.buffered + len(layout.aliases):]]

    def logits_of(self, ids: list[int], split: int = 0) -> np.ndarray:
        """Logits of every position, the first `split` tokens in one chunk, the rest in another."""
        state = self.empty_state()
        parts = []
        for chunk in (ids[:split], ids[split:]):
            if chunk:
                logits, state = self.run(chunk, state, num_logits=len(chunk))
                parts.append(logits)
        return np.concatenate(parts, axis=0)
