"""The golden executor: the quantized graph in numpy integers, exactly as the hardware computes it.

conv: int weights x int activations summed into an `acc_bits` two's-complement
accumulator (wrapping, as a hardware adder does), plus the int32 bias; then
`requantize`: rounding arithmetic shift (round half up), ReLU, saturation.
concat: channel concatenation (inputs share a format). add: inputs aligned
exactly to the wider fractional length, summed, one rounding shift. global
average pool: sum, times a multiplier, rounding shift.

Products are summed with BLAS in float32 or float64 when a per-layer bound
proves every partial sum exact there (|sum| < 2**24 or 2**53), else in int64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firebrick.quant.fixed_point import Format, QuantizationError, quantize, requantize, round_shift, wrap
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, Concat, Conv, GlobalAvgPool, Input

_EXACT_FLOAT32 = 2**24
_EXACT_FLOAT64 = 2**53


@dataclass
class ExecutionStats:
    """Per node: values clipped by saturation, accumulator wraps, values produced."""

    saturated: dict[str, int] = field(default_factory=dict)
    wrapped: dict[str, int] = field(default_factory=dict)
    produced: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, saturated: int, wrapped: int, produced: int) -> None:
        self.saturated[name] = self.saturated.get(name, 0) + saturated
        self.wrapped[name] = self.wrapped.get(name, 0) + wrapped
        self.produced[name] = self.produced.get(name, 0) + produced


def _require_quantized(graph: Graph) -> None:
    for name, op in graph.items():
        missing = (isinstance(op, Conv) and op.quant is None) or (
            isinstance(op, (Input, Concat, Add, GlobalAvgPool)) and op.fmt is None
        )
        if missing:
            raise QuantizationError(f"'{name}' is not quantized; run `firebrick quantize` first")


def quantize_images(graph: Graph, images: np.ndarray) -> np.ndarray:
    """Float images (N, C, H, W) -> the input node's integers."""
    fmt = graph.op(graph.input).fmt
    if fmt is None:
        raise QuantizationError("the graph's input is not quantized")
    return quantize(images, fmt)


def im2col(x: np.ndarray, kernel: int, stride: int, padding: int) -> tuple[np.ndarray, int, int]:
    """(N, C, H, W) -> (N * Ho * Wo, C * k * k) patches, zero padded, as a view where possible."""
    n, c, h, w = x.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    ho, wo = windows.shape[2:4]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kernel * kernel)
    return cols, ho, wo


def exact_matmul(cols: np.ndarray, weight: np.ndarray, bound: int) -> np.ndarray:
    """cols @ weight.T in exact integers, through BLAS when `bound` proves the float sums exact."""
    if bound < _EXACT_FLOAT32:
        return (cols.astype(np.float32) @ weight.T.astype(np.float32)).astype(np.int64)
    if bound < _EXACT_FLOAT64:
        return (cols.astype(np.float64) @ weight.T.astype(np.float64)).astype(np.int64)
    return cols.astype(np.int64) @ weight.T.astype(np.int64)


def conv_accumulator(x: np.ndarray, op: Conv) -> np.ndarray:
    """The accumulator before wrap and requantization: sum of products plus bias, (N, O, Ho, Wo) int64."""
    q = op.quant
    cols, ho, wo = im2col(x, op.kernel, op.stride, op.padding)
    weight = q.weight.reshape(op.out_channels, -1)
    max_x = int(np.abs(x).max()) if x.size else 0
    bound = max_x * int(np.abs(weight).sum(axis=1).max()) if weight.size else 0
    acc = exact_matmul(cols, weight, bound) + q.bias.astype(np.int64)[None, :]
    return acc.reshape(x.shape[0], ho, wo, op.out_channels).transpose(0, 3, 1, 2)


def _finish(name: str, acc: np.ndarray, shift: int, fmt: Format, relu: bool, acc_bits: int, stats: ExecutionStats | None) -> np.ndarray:
    wrapped = wrap(acc, acc_bits)
    y = requantize(wrapped, shift, fmt, relu)
    if stats is not None:
        unclipped = round_shift(wrapped, shift)
        if relu:
            unclipped = np.maximum(unclipped, 0)
        stats.add(name, int(np.count_nonzero(unclipped != y)), int(np.count_nonzero(wrapped != acc)), y.size)
    return y


def run_int(
    graph: Graph, x: np.ndarray, *, keep_all: bool = False, stats: ExecutionStats | None = None
) -> dict[str, np.ndarray]:
    """Integer outputs (int64 arrays) of every node (keep_all) or of the output node, from input integers."""
    _require_quantized(graph)
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise QuantizationError("the golden executor takes integer images; use quantize_images() on float ones")
    fmt = graph.op(graph.input).fmt
    if x.size and (x.min() < fmt.min_int or x.max() > fmt.max_int):
        raise QuantizationError(f"input integers outside {fmt} ({fmt.min_int}..{fmt.max_int})")
    values: dict[str, np.ndarray] = {}
    freed_after = {} if keep_all else graph.last_uses()
    for name, op in graph.items():
        ins = [values[i] for i in graph.inputs(name)]
        if isinstance(op, Input):
            y = x.astype(np.int64)
        elif isinstance(op, Conv):
            q = op.quant
            y = _finish(name, conv_accumulator(ins[0], op), q.shift, q.out_fmt, op.relu, q.acc_bits, stats)
        elif isinstance(op, Concat):
            y = np.concatenate(ins, axis=1)
        elif isinstance(op, Add):
            fa, fb = output_format(graph, graph.inputs(name)[0]), output_format(graph, graph.inputs(name)[1])
            common = max(fa.frac, fb.frac)
            total = round_shift(ins[0], fa.frac - common) + round_shift(ins[1], fb.frac - common)
            y = _finish(name, total, common - op.fmt.frac, op.fmt, op.relu, 64, stats)  # adder wide enough: no wrap
        elif isinstance(op, GlobalAvgPool):
            total = ins[0].sum(axis=(2, 3), keepdims=True) * op.multiplier
            y = _finish(name, total, op.shift, op.fmt, False, 64, stats)
        else:
            raise QuantizationError(f"'{name}': {type(op).__name__} has no integer implementation")
        values[name] = y
        for dead in freed_after.get(name, ()):  # free what no later node needs
            del values[dead]
    return values if keep_all else {graph.output: values[graph.output]}


def output_format(graph: Graph, name: str) -> Format:
    """The integer format of a node's output."""
    op = graph.op(name)
    if isinstance(op, Conv):
        return op.quant.out_fmt
    return op.fmt


def predict(graph: Graph, images: np.ndarray, batch_size: int = 256, stats: ExecutionStats | None = None) -> np.ndarray:
    """Class indices for float images, through the golden executor."""
    preds = []
    for start in range(0, len(images), batch_size):
        x = quantize_images(graph, images[start : start + batch_size])
        scores = run_int(graph, x, stats=stats)[graph.output].reshape(len(x), -1)
        preds.append(scores.argmax(axis=1))
    return np.concatenate(preds) if preds else np.zeros(0, np.int64)
