"""ONNX initializers read and written one tensor at a time (models of any size, bounded memory).

A graph is handled with its initializers empty (dims and dtype only) next to a reader of each
one's data: the exporter's readers return the PyTorch tensors themselves, `detach` makes
readers of a saved model's external data files (or inline arrays). Graph rewrites then work on
the small proto: `fold_constant_weights` adds weights derived lazily from others (a
``Transpose`` of a weight, seen through ``Identity`` nodes), `quantize_matmuls` int8 weights
made as they are written, and `write_model` writes each initializer in the dtype the proto now
names (fp32 -> fp16 on the fly) into ``<model>.data`` when the weights are large. Conversion
and quantization go in row blocks of about BLOCK_BYTES, written straight to the data file.
Memory: the graph plus one block (inline tensors: plus that tensor). Sizes are summed from
shapes and dtypes, never by serializing the proto (protobuf refuses messages over 2 GB).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Blocks:
    """A tensor made block by block as it is written: ``convert`` of row blocks of ``source``
    (int8 weights quantized from the float ones: no full-size temporaries)."""

    source: np.ndarray
    convert: Callable[[np.ndarray], np.ndarray]


Reader = Callable[[], "np.ndarray | Blocks"]
BLOCK_BYTES = 16 << 20
"""Tensors are converted (fp16, int8) and written in row blocks of about this many source bytes."""
ALIGN = 1 << 16
"""External tensors start on 64 KiB boundaries, so onnxruntime can map them from the file."""
INLINE_BYTES = 1024
"""Tensors below this size stay inside the proto even when the weights go to external data."""
_FP16_MAX = 65504.0


def tensor_bytes(tensor: Any) -> int:
    """Bytes of a tensor's data, from its dims and dtype (loaded or not)."""
    from onnx import helper

    itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    return int(np.prod(tensor.dims, dtype=np.int64)) * itemsize


def weight_bytes(graph: Any) -> int:
    """Total bytes of a graph's initializers."""
    return sum(tensor_bytes(t) for t in graph.initializer)


def load_graph(path: Path) -> Any:
    """The model proto at ``path`` without its external data (the weights stay on disk)."""
    import onnx

    return onnx.load(str(path), load_external_data=False)


def detach(proto: Any, base: Path) -> dict[str, Reader]:
    """Empty every initializer of ``proto`` (external data relative to ``base``) and return a
    reader of its data by name. Inline data is kept as one array (it was in memory anyway);
    tensors in node attributes (onnxruntime's quantizer moves those too) are loaded inline."""
    import onnx
    from onnx import external_data_helper, helper, numpy_helper

    readers: dict[str, Reader] = {}
    for tensor in proto.graph.initializer:
        if external_data_helper.uses_external_data(tensor):
            info = external_data_helper.ExternalDataInfo(tensor)
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
            readers[tensor.name] = _file_reader(base / info.location, int(info.offset or 0),
                                                dtype, tuple(tensor.dims))
        else:
            array = numpy_helper.to_array(tensor)
            readers[tensor.name] = lambda array=array: array
        tensor.CopyFrom(onnx.TensorProto(name=tensor.name, data_type=tensor.data_type,
                                         dims=list(tensor.dims)))
    for tensor in external_data_helper._get_attribute_tensors(proto):  # Constant nodes: small
        if external_data_helper.uses_external_data(tensor):
            external_data_helper.load_external_data_for_tensor(tensor, str(base))
            tensor.data_location = onnx.TensorProto.DEFAULT
            del tensor.external_data[:]
    return readers


def _file_reader(path: Path, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> Reader:
    count = int(np.prod(shape, dtype=np.int64))

    def read() -> np.ndarray:
        return np.fromfile(path, dtype=dtype, count=count, offset=offset).reshape(shape)

    return read


def fold_constant_weights(proto: Any, readers: dict[str, Reader]) -> int:
    """Make nodes read weights directly: ``Identity`` of a weight is replaced by the weight, and
    ``Transpose`` of a weight by a new initializer (written transposed; one per weight and
    permutation, however many nodes transpose it). Weights nothing reads any more are dropped.
    The exporter traces without constant folding (which would hold a second copy of every
    weight in memory); this does that folding one tensor at a time. Returns nodes removed."""
    import onnx

    graph = proto.graph
    tensors = {t.name: t for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    alias: dict[str, str] = {}
    folded: dict[tuple[str, tuple[int, ...]], str] = {}
    kept = []
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = alias.get(name, name)
        src = node.input[0] if node.input else ""
        if src not in tensors or node.output[0] in outputs:
            kept.append(node)
        elif node.op_type == "Identity":
            alias[node.output[0]] = src
        elif node.op_type == "Transpose":
            perm = next((tuple(a.ints) for a in node.attribute if a.name == "perm"),
                        tuple(reversed(range(len(tensors[src].dims)))))
            name = folded.get((src, perm))
            if name is None:
                name = folded[(src, perm)] = node.output[0]
                dims = [tensors[src].dims[p] for p in perm]
                tensor = onnx.TensorProto(name=name, data_type=tensors[src].data_type, dims=dims)
                graph.initializer.append(tensor)
                tensors[name] = tensor
                readers[name] = _transposed(readers[src], perm)
            alias[node.output[0]] = name
        else:
            kept.append(node)
    removed = len(graph.node) - len(kept)
    if removed:
        copies = [onnx.NodeProto() for _ in kept]
        for copy, node in zip(copies, kept, strict=True):
            copy.CopyFrom(node)
        del graph.node[:]
        graph.node.extend(copies)
        drop_unused(proto, readers)
    return removed


def _transposed(read: Reader, perm: tuple[int, ...]) -> Reader:
    return lambda: np.transpose(read(), perm)


def drop_unused(proto: Any, readers: dict[str, Reader]) -> None:
    """Remove initializers that no node (or subgraph) and no graph output reads."""
    graph = proto.graph
    used = {o.name for o in graph.output}
    for node in graph.node:
        used.update(node.input)
        for attr in node.attribute:  # names read inside subgraphs (If / Loop bodies)
            for sub in [attr.g, *attr.graphs]:
                used.update(i for n in sub.node for i in n.input)
    if all(t.name in used for t in graph.initializer):
        return
    import onnx

    copies = []
    for tensor in graph.initializer:
        if tensor.name in used:
            copies.append(onnx.TensorProto())
            copies[-1].CopyFrom(tensor)
        else:
            readers.pop(tensor.name, None)
    del graph.initializer[:]
    graph.initializer.extend(copies)


def write_model(proto: Any, dst: Path, readers: dict[str, Reader], external: bool,
                on_tensor: Callable[[int, int], None] | None = None) -> None:
    """Write ``proto`` to ``dst``, each initializer read from ``readers`` and cast to the dtype
    the proto names; with ``external``, tensors of INLINE_BYTES or more go to ``dst.data``
    (64 KiB aligned). ``on_tensor(done, total)`` is called after each tensor."""
    import onnx
    from onnx import helper

    data_name = dst.name + ".data"
    sink = open(dst.parent / data_name, "wb") if external else None  # noqa: SIM115
    try:
        total = len(proto.graph.initializer)
        for done, tensor in enumerate(proto.graph.initializer, 1):
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
            data = readers[tensor.name]()
            if isinstance(data, Blocks):
                source, convert = data.source, data.convert
            else:
                source, convert = data, lambda block, dtype=dtype: _as_dtype(block, dtype)
            if source.size != int(np.prod(tensor.dims, dtype=np.int64)):
                raise ValueError(f"{tensor.name}: data shape {source.shape} != dims "
                                 f"{list(tensor.dims)}")
            nbytes = source.size * dtype.itemsize
            blocks = (np.ascontiguousarray(convert(b)) for b in row_blocks(source))
            if sink is not None and nbytes >= INLINE_BYTES:
                offset = -sink.tell() % ALIGN + sink.tell()
                sink.seek(offset)
                for block in blocks:
                    block.tofile(sink)
                tensor.data_location = onnx.TensorProto.EXTERNAL
                for key, value in (("location", data_name), ("offset", str(offset)),
                                   ("length", str(nbytes))):
                    entry = tensor.external_data.add()
                    entry.key, entry.value = key, value
            else:
                tensor.raw_data = b"".join(block.tobytes() for block in blocks)
            del data, source, blocks
            if on_tensor is not None:
                on_tensor(done, total)
    finally:
        if sink is not None:
            sink.close()
    onnx.save_model(proto, str(dst))


def row_blocks(array: np.ndarray, block_bytes: int | None = None) -> Iterator[np.ndarray]:
    """Views of consecutive rows of ``array`` of about ``block_bytes`` (BLOCK_BYTES) each, at
    least one row (the whole array when it is small or a scalar): in order, their C-order bytes
    are the array's."""
    block_bytes = block_bytes or BLOCK_BYTES
    if array.ndim == 0 or array.nbytes <= block_bytes:
        yield array
        return
    rows = max(1, block_bytes // max(1, array[0].nbytes))
    for start in range(0, array.shape[0], rows):
        yield array[start:start + rows]


def _as_dtype(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if array.dtype == dtype:
        return array
    if dtype == np.float16 and array.dtype.kind == "f":
        return np.clip(array, -_FP16_MAX, _FP16_MAX).astype(np.float16)
    return array.astype(dtype)


def threshold_from_env(default: int) -> int:
    """``CODEFLOW_EXTERNAL_DATA_BYTES`` when set (tests and benchmarks lower it), else default."""
    value = os.environ.get("CODEFLOW_EXTERNAL_DATA_BYTES", "").strip()
    return int(value) if value else default


class _Int8:
    """A weight quantized to int8 (symmetric, per tensor: scale = max|w| / 127, zero point 0,
    as onnxruntime's dynamic quantizer does it); the scale is computed once, when first read,
    and the int8 values block by block as they are written."""

    def __init__(self, read: Reader) -> None:
        self.read = read
        self._scale: np.float32 | None = None

    def scale(self) -> np.ndarray:
        if self._scale is None:
            self._scale = _int8_scale(self.read())
        return np.array(self._scale, dtype=np.float32)

    def values(self) -> Blocks:
        w = self.read()
        if self._scale is None:
            self._scale = _int8_scale(w)
        scale = self._scale
        return Blocks(w, lambda block: np.clip(np.round(block / scale), -127, 127)
                      .astype(np.int8))


def _int8_scale(w: np.ndarray) -> np.float32:
    """max|w| * 2 / 254 (1 for all zeros), from the min and max (no |w| temporary)."""
    absmax = np.float32(max(float(w.max(initial=0.0)), -float(w.min(initial=0.0)), 0.0))
    return np.float32(2 * absmax) / np.float32(254) if absmax > 0 else np.float32(1.0)


def quantize_matmuls(proto: Any, readers: dict[str, Reader]) -> int:
    """Dynamic int8 quantization of every ``MatMul`` whose weight (second input) is a 2-D float
    initializer, on a detached graph: the graph onnxruntime's ``quantize_dynamic`` writes
    (``DynamicQuantizeLinear`` of the activation, once per tensor; ``MatMulInteger``; ``Cast``;
    the product of both scales), with the int8 weights produced as they are written, one
    tensor at a time. Returns how many MatMuls were quantized."""
    import onnx
    from onnx import helper

    graph = proto.graph
    tensors = {t.name: t for t in graph.initializer}
    quantized: dict[str, str] = {}  # weight -> its int8 name
    activations: set[str] = set()
    nodes: list[Any] = []
    count = 0
    for node in graph.node:
        weight = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else ""
        w = tensors.get(weight)
        if w is None or w.data_type != onnx.TensorProto.FLOAT or len(w.dims) != 2 \
                or node.input[0] in tensors:
            nodes.append(node)
            continue
        x = node.input[0]
        if x not in activations:
            activations.add(x)
            nodes.append(helper.make_node(
                "DynamicQuantizeLinear", [x], [f"{x}_quantized", f"{x}_scale", f"{x}_zero_point"],
                name=f"{x}_QuantizeLinear"))
        if weight not in quantized:
            quantized[weight] = f"{weight}_quantized"
            q = _Int8(readers[weight])
            for name, dtype, dims, read in (
                    (f"{weight}_quantized", onnx.TensorProto.INT8, list(w.dims), q.values),
                    (f"{weight}_scale", onnx.TensorProto.FLOAT, [], q.scale),
                    (f"{weight}_zero_point", onnx.TensorProto.INT8, [],
                     lambda: np.zeros((), dtype=np.int8))):
                graph.initializer.append(onnx.TensorProto(name=name, data_type=dtype, dims=dims))
                readers[name] = read
        out, base = node.output[0], node.name or node.output[0]
        nodes += [
            helper.make_node("MatMulInteger", [f"{x}_quantized", f"{weight}_quantized",
                                               f"{x}_zero_point", f"{weight}_zero_point"],
                             [f"{out}_output_quantized"], name=f"{base}_quant"),
            helper.make_node("Cast", [f"{out}_output_quantized"],
                             [f"{out}_output_quantized_cast_output"], to=onnx.TensorProto.FLOAT,
                             name=f"{base}_quant_output_cast"),
            helper.make_node("Mul", [f"{x}_scale", f"{weight}_scale"],
                             [f"{base}_quant_scales_mul:0"], name=f"{base}_quant_scales_mul"),
            helper.make_node("Mul", [f"{out}_output_quantized_cast_output",
                                     f"{base}_quant_scales_mul:0"], [out],
                             name=f"{base}_quant_output_scale_mul"),
        ]
        count += 1
    if count:
        copies = [onnx.NodeProto() for _ in nodes]
        for copy, node in zip(copies, nodes, strict=True):
            copy.CopyFrom(node)
        del graph.node[:]
        graph.node.extend(copies)
        drop_unused(proto, readers)
    return count
