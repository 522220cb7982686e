"""Check a graph read from a file: every field of every node within what the executors and the hardware can run.

A graph file is data a user can edit; `load_graph` runs `check_graph` so that
an edited or damaged file is refused on load, naming the node and the field,
instead of building hardware that computes something else or crashing deep
in an executor. The checks are what a quantizer-made graph always satisfies:
types, shapes against the arrays and the producers, integer values within
their declared formats, shifts and formats in the ranges the int64 executors
hold exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from firebrick.errors import FirebrickError
from firebrick.quant.fixed_point import MAX_BITS, MIN_BITS, Format
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, BatchNorm, Concat, Conv, ConvQuant, GlobalAvgPool, Input, Relu

#: the executors compute in int64: an accumulator of acc_bits shifted left by -shift must stay below 2**62
INT64_HEADROOM = 62
#: fractional lengths beyond this are no format a quantizer makes (2**-frac under- or overflows float32)
MAX_FRAC = 64
ACC_BITS = (16, 48)
MAX_POOL_MULTIPLIER = 1 << 24
INPUTS = {Input: (0, 0), Conv: (1, 1), BatchNorm: (1, 1), Relu: (1, 1), Concat: (1, None), Add: (2, 2), GlobalAvgPool: (1, 1)}


class InvalidGraphError(FirebrickError):
    """A graph whose contents cannot be what a quantizer wrote: names the node, the field and the reason."""

    def __init__(self, node: str, field: str, reason: str) -> None:
        super().__init__(f"node '{node}' field {field}: {reason}")
        self.node, self.field, self.reason = node, field, reason


def _int(node: str, field: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidGraphError(node, field, f"must be an integer, not {value!r}")
    if value < low or (high is not None and value > high):
        raise InvalidGraphError(node, field, f"{value} is outside {low}..{'' if high is None else high}")
    return int(value)


def _format(node: str, field: str, fmt: Any, bits: tuple[int, int] = (MIN_BITS, MAX_BITS)) -> Format:
    if not isinstance(fmt, Format):
        raise InvalidGraphError(node, field, f"must be a format (bits, frac, signed), not {fmt!r}")
    _int(node, f"{field}.bits", fmt.bits, *bits)
    _int(node, f"{field}.frac", fmt.frac, -MAX_FRAC, MAX_FRAC)
    return fmt


def _array(node: str, field: str, value: Any, shape: tuple[int, ...], integer: bool) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise InvalidGraphError(node, field, f"must be an array, not {type(value).__name__}")
    if value.shape != shape:
        raise InvalidGraphError(node, field, f"has shape {value.shape}, the node's sizes need {shape}")
    if integer and not np.issubdtype(value.dtype, np.integer):
        raise InvalidGraphError(node, field, f"must hold integers, holds {value.dtype}")
    if not integer and not (np.issubdtype(value.dtype, np.floating) and np.all(np.isfinite(value))):
        raise InvalidGraphError(node, field, "must hold finite floats")
    return value


def _within(node: str, field: str, values: np.ndarray, fmt: Format) -> None:
    if values.size and (values.min() < fmt.min_int or values.max() > fmt.max_int):
        bad = values.flat[int(np.argmax((values < fmt.min_int) | (values > fmt.max_int)))]
        raise InvalidGraphError(node, field, f"holds {bad}, outside {fmt}'s range {fmt.min_int}..{fmt.max_int}")


def _check_quant(node: str, op: Conv, q: Any) -> None:
    if not isinstance(q, ConvQuant):
        raise InvalidGraphError(node, "quant", f"must be a conv quantization, not {type(q).__name__}")
    _format(node, "quant.in_fmt", q.in_fmt)
    weight_fmt = _format(node, "quant.weight_fmt", q.weight_fmt)
    _format(node, "quant.out_fmt", q.out_fmt)
    acc_bits = _int(node, "quant.acc_bits", q.acc_bits, *ACC_BITS)
    _int(node, "quant.shift", q.shift, -(INT64_HEADROOM - acc_bits), INT64_HEADROOM)
    shape = (op.out_channels, op.in_channels, op.kernel, op.kernel)
    _within(node, "quant.weight", _array(node, "quant.weight", q.weight, shape, integer=True), weight_fmt)
    bias = _array(node, "quant.bias", q.bias, (op.out_channels,), integer=True)
    _within(node, "quant.bias", bias, Format(acc_bits, q.acc_frac, True))
    if (q.codebook is None) != (q.indices is None):
        raise InvalidGraphError(node, "quant.codebook", "a codebook and its indices come together, or neither")
    if q.codebook is not None:
        size = len(q.codebook) if isinstance(q.codebook, np.ndarray) and q.codebook.ndim == 1 else 0
        if size < 2 or size & (size - 1) or size > 256:
            raise InvalidGraphError(node, "quant.codebook", "must be a list of 2, 4, ... 256 integer weights")
        _within(node, "quant.codebook", _array(node, "quant.codebook", q.codebook, (size,), integer=True), weight_fmt)
        indices = _array(node, "quant.indices", q.indices, shape, integer=True)
        _within(node, "quant.indices", indices, Format(size.bit_length() - 1, 0, False))
        if not np.array_equal(q.codebook[indices], q.weight):
            raise InvalidGraphError(node, "quant.weight", "differs from the codebook entries its indices select")


def _check_node(graph: Graph, node: str, op: Any, shapes: dict[str, tuple[int, int, int]]) -> tuple[int, int, int]:
    inputs = graph.inputs(node)
    low, high = INPUTS.get(type(op), (None, None))
    if low is None:
        raise InvalidGraphError(node, "kind", f"{type(op).__name__} is no graph op")
    if len(inputs) < low or (high is not None and len(inputs) > high):
        raise InvalidGraphError(node, "inputs", f"has {len(inputs)} inputs, a {type(op).__name__} takes {low}"
                                                + ("" if high == low else f"..{high or 'any'}"))
    ins = [shapes[i] for i in inputs]
    if isinstance(op, Input):
        if not (isinstance(op.shape, tuple) and len(op.shape) == 3):
            raise InvalidGraphError(node, "shape", f"must be (channels, height, width), not {op.shape!r}")
        for axis, size in zip(("channels", "height", "width"), op.shape):
            _int(node, f"shape.{axis}", size, 1)
        if op.fmt is not None:
            _format(node, "fmt", op.fmt)
        return tuple(int(s) for s in op.shape)
    if isinstance(op, Conv):
        in_channels = _int(node, "in_channels", op.in_channels, 1)
        out_channels = _int(node, "out_channels", op.out_channels, 1)
        kernel = _int(node, "kernel", op.kernel, 1, 15)
        stride = _int(node, "stride", op.stride, 1, 16)
        padding = _int(node, "padding", op.padding, 0, kernel)
        if ins[0][0] != in_channels:
            raise InvalidGraphError(node, "in_channels", f"is {in_channels}, but its input '{inputs[0]}' has {ins[0][0]} channels")
        _array(node, "weight", op.weight, (out_channels, in_channels, kernel, kernel), integer=False)
        _array(node, "bias", op.bias, (out_channels,), integer=False)
        if not isinstance(op.relu, bool):
            raise InvalidGraphError(node, "relu", f"must be true or false, not {op.relu!r}")
        size = [(side + 2 * padding - kernel) // stride + 1 for side in ins[0][1:]]
        if min(size) < 1:
            raise InvalidGraphError(node, "kernel", f"a {kernel}x{kernel} kernel with padding {padding} does not fit its "
                                                    f"{ins[0][1]}x{ins[0][2]} input")
        if op.quant is not None:
            _check_quant(node, op, op.quant)
        return (out_channels, *size)
    if isinstance(op, (BatchNorm, Relu)):
        return ins[0]
    if isinstance(op, Concat):
        if len({s[1:] for s in ins}) != 1:
            raise InvalidGraphError(node, "inputs", f"concatenates maps of different sizes: {[s[1:] for s in ins]}")
        shape = (sum(s[0] for s in ins), *ins[0][1:])
    elif isinstance(op, Add):
        if ins[0] != ins[1]:
            raise InvalidGraphError(node, "inputs", f"adds tensors of different shapes: {ins[0]} and {ins[1]}")
        shape = ins[0]
    else:
        _int(node, "multiplier", op.multiplier, 1, MAX_POOL_MULTIPLIER)
        _int(node, "shift", op.shift, 0, INT64_HEADROOM)
        shape = (ins[0][0], 1, 1)
    if op.fmt is not None:
        _format(node, "fmt", op.fmt)
    if isinstance(op, Add) and not isinstance(op.relu, bool):
        raise InvalidGraphError(node, "relu", f"must be true or false, not {op.relu!r}")
    return shape


def check_graph(graph: Graph) -> None:
    """Raise `InvalidGraphError` (node, field, reason) at the first field no quantizer would have written."""
    graph.validate()
    shapes: dict[str, tuple[int, int, int]] = {}
    for node, op in graph.items():
        shapes[node] = _check_node(graph, node, op, shapes)
