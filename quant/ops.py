"""The operations of the dataflow graph.

After lowering and the standard passes only `Input`, `Conv`, `Concat`, `Add`
and `GlobalAvgPool` remain: exactly what the accelerator implements. `BatchNorm`
and `Relu` exist only between lowering and `fold_batch_norm` / `fuse_relu`.
Float parameters stay in the graph beside the integer ones so that a graph can
be re-quantized or fine-tuned without the torch model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firebrick.quant.fixed_point import Format


@dataclass
class Input:
    #: (channels, height, width) of one image
    shape: tuple[int, int, int]
    #: the image's integer format; None before quantization
    fmt: Format | None = None


@dataclass
class ConvQuant:
    """The integer form of a conv: what the hardware computes."""

    in_fmt: Format
    weight_fmt: Format
    out_fmt: Format
    #: int weights (O, I, k, k), decoded from the codebook when there is one
    weight: np.ndarray
    #: int32 bias at the accumulator's fractional length (in_fmt.frac + weight_fmt.frac)
    bias: np.ndarray
    #: accumulator frac - output frac: > 0 is a rounding right shift, < 0 an exact left shift
    shift: int
    acc_bits: int = 32
    #: per-layer codebook of int weights (2**k,) in weight_fmt, or None
    codebook: np.ndarray | None = None
    #: k-bit codebook indices (O, I, k, k), or None
    indices: np.ndarray | None = None

    @property
    def acc_frac(self) -> int:
        return self.in_fmt.frac + self.weight_fmt.frac

    @property
    def codebook_bits(self) -> int | None:
        return None if self.codebook is None else int(len(self.codebook) - 1).bit_length()


@dataclass
class Conv:
    in_channels: int
    out_channels: int
    #: square kernel side: 1 or 3
    kernel: int
    stride: int
    padding: int
    #: float weights (O, I, k, k) and bias (O,)
    weight: np.ndarray = field(repr=False)
    bias: np.ndarray = field(repr=False)
    #: ReLU fused into the output
    relu: bool = False
    quant: ConvQuant | None = field(default=None, repr=False)


@dataclass
class BatchNorm:
    """Inference batch norm; folded into the conv before it by `fold_batch_norm`."""

    mean: np.ndarray = field(repr=False)
    var: np.ndarray = field(repr=False)
    gamma: np.ndarray = field(repr=False)
    beta: np.ndarray = field(repr=False)
    eps: float = 1e-5


@dataclass
class Relu:
    """A standalone ReLU; fused into its producer by `fuse_relu`."""


@dataclass
class Concat:
    """Channel concatenation in input order; free in hardware (channel offsets), so all inputs share `fmt`."""

    fmt: Format | None = None


@dataclass
class Add:
    """Elementwise sum (bypass): inputs aligned to the wider frac exactly, then one rounding shift to `fmt`."""

    relu: bool = False
    fmt: Format | None = None


@dataclass
class GlobalAvgPool:
    """Mean over H x W: sum, times `multiplier`, rounding shift by `shift`, saturate to `fmt`.

    With H*W a power of two, multiplier is 1 and the divide is part of the shift;
    otherwise multiplier ~ 2**p / (H*W) in fixed point.
    """

    fmt: Format | None = None
    multiplier: int = 1
    shift: int = 0


Op = Input | Conv | BatchNorm | Relu | Concat | Add | GlobalAvgPool
HARDWARE_OPS = (Input, Conv, Concat, Add, GlobalAvgPool)


def op_kind(op: Op) -> str:
    return {
        Input: "input", Conv: "conv", BatchNorm: "batchnorm", Relu: "relu",
        Concat: "concat", Add: "add", GlobalAvgPool: "global_avg_pool",
    }[type(op)]
