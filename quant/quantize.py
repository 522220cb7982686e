"""Ristretto-style dynamic fixed point (and optional codebooks) for a canonical graph.

Per tensor, the integer length comes from the calibrated max |x| and the rest of
the bits are fractional; weights are signed, activations after ReLU unsigned.
Every conv gets int weights, an int32 bias at the accumulator's fractional
length, and one shift from accumulator to output. Concat inputs share one
format (concat is a free channel offset in hardware), the one that covers the
widest input.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from firebrick.quant.analyses import infer_shapes
from firebrick.quant.calibrate import Range
from firebrick.quant.codebook import check_codebook_bits, cluster_weights, prune_mask
from firebrick.quant.fixed_point import Format, QuantizationError, check_bits, choose_format, quantize
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, Concat, Conv, ConvQuant, GlobalAvgPool, Input

#: bits of the fixed-point reciprocal used by a global average pool over a non-power-of-two area
POOL_MULTIPLIER_BITS = 16


@dataclass(frozen=True)
class LayerBits:
    """Per-layer override of the bit widths (None keeps the global value)."""

    weight_bits: int | None = None
    activation_bits: int | None = None


@dataclass(frozen=True)
class QuantConfig:
    """How to quantize a graph."""

    #: signed weight width
    weight_bits: int = 8
    #: activation width (unsigned after ReLU, else signed)
    activation_bits: int = 8
    #: accumulator and bias width
    acc_bits: int = 32
    #: codebook index width k (2**k shared weights per layer); None: plain DFP weights
    codebook_bits: int | None = None
    #: fraction of smallest-magnitude weights set to zero per layer
    prune: float = 0.0
    #: per-layer bit widths by node name
    overrides: dict[str, LayerBits] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_bits(self.weight_bits, "weight bits")
        check_bits(self.activation_bits, "activation bits")
        if not 16 <= self.acc_bits <= 48:
            raise QuantizationError(f"accumulator bits must be in 16..48, not {self.acc_bits!r}")
        if self.codebook_bits is not None:
            check_codebook_bits(self.codebook_bits)
        prune_mask(np.zeros(1), self.prune)  # validates the fraction
        for name, bits in self.overrides.items():
            if bits.weight_bits is not None:
                check_bits(bits.weight_bits, f"weight bits of {name}")
            if bits.activation_bits is not None:
                check_bits(bits.activation_bits, f"activation bits of {name}")

    def weight_bits_of(self, node: str) -> int:
        o = self.overrides.get(node)
        return o.weight_bits if o and o.weight_bits is not None else self.weight_bits

    def activation_bits_of(self, node: str) -> int:
        o = self.overrides.get(node)
        return o.activation_bits if o and o.activation_bits is not None else self.activation_bits

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["overrides"] = {k: dataclasses.asdict(v) for k, v in self.overrides.items()}
        return d


def _check_overrides(graph: Graph, config: QuantConfig) -> None:
    unknown = sorted(set(config.overrides) - set(graph.nodes()))
    if unknown:
        raise QuantizationError(f"bit-width override for unknown layer(s) {', '.join(unknown)}; layers are: {', '.join(graph.nodes())}")


def _check_weights(graph: Graph) -> None:
    for name, op in graph.items():
        if isinstance(op, Conv) and not (np.all(np.isfinite(op.weight)) and np.all(np.isfinite(op.bias))):
            raise QuantizationError(f"layer '{name}' has NaN or infinite weights; the checkpoint is damaged or training diverged")


def activation_formats(graph: Graph, ranges: dict[str, Range], config: QuantConfig) -> dict[str, Format]:
    """The output format of every node, concat inputs unified."""
    fmts: dict[str, Format] = {}
    for name, op in graph.items():
        r = ranges[name]
        bits = config.activation_bits_of(name)
        if isinstance(op, Input):
            signed = r.min < 0
        elif isinstance(op, Conv):
            signed = not op.relu
        elif isinstance(op, Add):
            signed = not op.relu and any(fmts[i].signed for i in graph.inputs(name))
        elif isinstance(op, (GlobalAvgPool, Concat)):
            signed = any(fmts[i].signed for i in graph.inputs(name))
        else:
            raise QuantizationError(f"'{name}': {type(op).__name__} must be folded before quantization (run canonicalize)")
        fmts[name] = choose_format(r.max_abs, bits, signed)
    # A concat and all its inputs share the widest format; repeat for concats of concats.
    changed = True
    while changed:
        changed = False
        for name, op in graph.items():
            if not isinstance(op, Concat):
                continue
            group = [name, *graph.inputs(name)]
            signed = any(fmts[n].signed for n in group)
            bits = max(fmts[n].bits for n in group)
            # integer length that covers every member (+1 where an unsigned one becomes signed)
            il = max(fmts[n].bits - fmts[n].frac + (1 if signed and not fmts[n].signed else 0) for n in group)
            common = Format(bits, bits - il, signed)
            for n in group:
                if fmts[n] != common:
                    fmts[n] = common
                    changed = True
    return fmts


def _pool_params(area: int, in_frac: int, out_frac: int) -> tuple[int, int]:
    """(multiplier, shift) with round(sum * multiplier >> shift) ~= mean at the output's frac."""
    if area & (area - 1) == 0:
        return 1, int(math.log2(area)) + in_frac - out_frac
    p = POOL_MULTIPLIER_BITS - 1 + math.ceil(math.log2(area))
    return int(round(2**p / area)), p + in_frac - out_frac


def quantize_conv(op: Conv, in_fmt: Format, out_fmt: Format, weight_bits: int, config: QuantConfig) -> Conv:
    weight = op.weight.astype(np.float64)
    if config.codebook_bits is not None:
        centroids, indices = cluster_weights(weight, config.codebook_bits, config.prune)
        weight_fmt = choose_format(float(np.abs(centroids).max()), weight_bits, True)
        codebook = quantize(centroids, weight_fmt)
        qweight = codebook[indices.astype(np.int64)]
    else:
        weight = np.where(prune_mask(weight, config.prune), weight, 0.0)
        weight_fmt = choose_format(float(np.abs(weight).max()), weight_bits, True)
        codebook, indices = None, None
        qweight = quantize(weight, weight_fmt)
    acc_frac = in_fmt.frac + weight_fmt.frac
    bias = quantize(op.bias, Format(config.acc_bits, acc_frac, True))
    quant = ConvQuant(in_fmt, weight_fmt, out_fmt, qweight, bias, acc_frac - out_fmt.frac, config.acc_bits, codebook, indices)
    return dataclasses.replace(op, quant=quant)


def quantize_graph(graph: Graph, ranges: dict[str, Range], config: QuantConfig) -> Graph:
    """A new graph with every op's integer form filled in."""
    _check_overrides(graph, config)
    _check_weights(graph)
    fmts = activation_formats(graph, ranges, config)
    shapes = infer_shapes(graph)
    out = graph.copy()
    for name, op in graph.items():
        ins = graph.inputs(name)
        if isinstance(op, Input):
            out.set_op(name, dataclasses.replace(op, fmt=fmts[name]))
        elif isinstance(op, Conv):
            out.set_op(name, quantize_conv(op, fmts[ins[0]], fmts[name], config.weight_bits_of(name), config))
        elif isinstance(op, (Concat, Add)):
            out.set_op(name, dataclasses.replace(op, fmt=fmts[name]))
        elif isinstance(op, GlobalAvgPool):
            _, h, w = shapes[ins[0]]
            multiplier, shift = _pool_params(h * w, fmts[ins[0]].frac, fmts[name].frac)
            out.set_op(name, dataclasses.replace(op, fmt=fmts[name], multiplier=multiplier, shift=shift))
    out.meta = {**graph.meta, "quantization": config.to_dict()}
    return out


def requantize_weights(graph: Graph) -> Graph:
    """Re-derive int weights and biases from the float ones, formats and codebook indices kept (after fine-tuning)."""
    out = graph.copy()
    for name, op in graph.items():
        if not isinstance(op, Conv) or op.quant is None:
            continue
        q = op.quant
        bias = quantize(op.bias, Format(q.acc_bits, q.acc_frac, True))
        if q.codebook is not None:
            # every weight sharing an index holds the same float centroid: read it back, requantize
            flat_idx = q.indices.astype(np.int64).ravel()
            used, first = np.unique(flat_idx, return_index=True)
            codebook = q.codebook.copy()
            codebook[used] = quantize(op.weight.ravel()[first], q.weight_fmt)
            q = dataclasses.replace(q, codebook=codebook, weight=codebook[flat_idx].reshape(op.weight.shape), bias=bias)
        else:
            q = dataclasses.replace(q, weight=quantize(op.weight, q.weight_fmt), bias=bias)
        out.set_op(name, dataclasses.replace(op, quant=q))
    return out
