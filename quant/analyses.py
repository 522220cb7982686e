"""Pure analyses of a graph: each returns {node: value} and leaves the graph untouched."""

from __future__ import annotations

import math

from firebrick.quant.graph import Graph, GraphError
from firebrick.quant.ops import Add, BatchNorm, Concat, Conv, GlobalAvgPool, Input, Relu

Shape = tuple[int, int, int]


def conv_out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    """Output shape (C, H, W) of every node; raises GraphError on inconsistent inputs."""
    shapes: dict[str, Shape] = {}
    for name, op in graph.items():
        ins = [shapes[i] for i in graph.inputs(name)]
        if isinstance(op, Input):
            shapes[name] = tuple(op.shape)  # type: ignore[assignment]
        elif isinstance(op, Conv):
            c, h, w = ins[0]
            if c != op.in_channels:
                raise GraphError(f"{name}: expects {op.in_channels} input channels, gets {c}")
            size = conv_out_size(h, op.kernel, op.stride, op.padding), conv_out_size(w, op.kernel, op.stride, op.padding)
            shapes[name] = (op.out_channels, *size)
        elif isinstance(op, (BatchNorm, Relu)):
            shapes[name] = ins[0]
        elif isinstance(op, Concat):
            if len({s[1:] for s in ins}) != 1:
                raise GraphError(f"{name}: concat inputs differ in size: {ins}")
            shapes[name] = (sum(s[0] for s in ins), *ins[0][1:])
        elif isinstance(op, Add):
            if len(set(ins)) != 1:
                raise GraphError(f"{name}: add inputs differ in shape: {ins}")
            shapes[name] = ins[0]
        elif isinstance(op, GlobalAvgPool):
            shapes[name] = (ins[0][0], 1, 1)
        else:
            raise GraphError(f"{name}: unknown op {type(op).__name__}")
    return shapes


def macs_per_layer(graph: Graph) -> dict[str, int]:
    """Multiply-accumulates per conv for one image (every output position, borders included)."""
    shapes = infer_shapes(graph)
    return {
        name: math.prod(shapes[name]) * op.in_channels * op.kernel**2
        for name, op in graph.items()
        if isinstance(op, Conv)
    }


def weight_bytes_per_layer(graph: Graph) -> dict[str, int]:
    """Bytes of on-chip weight storage per conv: k-bit indices plus the codebook, or plain weights; plus 32-bit biases.

    Before quantization, weights count as 32-bit floats.
    """
    out = {}
    for name, op in graph.items():
        if not isinstance(op, Conv):
            continue
        count = op.weight.size
        q = op.quant
        if q is None:
            bits = 32 * count
            bias_bits = 32 * op.out_channels
        elif q.codebook is not None:
            bits = q.codebook_bits * count + q.weight_fmt.bits * len(q.codebook)
            bias_bits = q.acc_bits * op.out_channels
        else:
            bits = q.weight_fmt.bits * count
            bias_bits = q.acc_bits * op.out_channels
        out[name] = math.ceil(bits / 8) + math.ceil(bias_bits / 8)
    return out
