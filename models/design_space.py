"""The SqueezeNet design space (Iandola's dissertation, ch. 6) as a generator of `NetSpec`s.

Fire module i (0-based) has e_i = base_e + incr_e * floor(i / freq) expand
filters, of which pct_3x3 are 3x3; its squeeze layer has SR * e_i filters.
SqueezeNet v1.0/v1.1 are base_e=128, incr_e=128, pct_3x3=0.5, freq=2, SR=0.125.

`hardware_ready=True` applies ZynqNet's rules so that the accelerator can run
the result: each max-pool becomes a 3x3 stride-2 squeeze in the fire after it,
every kernel is 1x1 or 3x3 (a larger stem becomes 3x3), and convolutions pad
"same" so that power-of-two inputs halve exactly. `pow2_channels=True` rounds
every hidden channel count up to a power of two.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from firebrick.errors import SpecError
from firebrick.models.spec import Bypass, BodyItem, ClassifierSpec, ConvSpec, FireSpec, NetSpec, PoolSpec


@dataclass(frozen=True)
class SqueezeNetMeta:
    """Metaparameters of one point in the SqueezeNet design space."""

    #: expand filters (1x1 + 3x3) in the first fire module
    base_e: int = 128
    #: expand filters added every `freq` fire modules
    incr_e: int = 128
    #: share of expand filters that are 3x3, in [0, 1]
    pct_3x3: float = 0.5
    #: number of fire modules between increments of the expand filters
    freq: int = 2
    #: squeeze ratio: squeeze filters / expand filters
    sr: float = 0.125
    #: number of fire modules
    num_fires: int = 8
    bypass: Bypass = Bypass.NONE
    #: the first convolution
    stem: ConvSpec = ConvSpec(out_channels=96, kernel=7, stride=2, padding=0)
    input_size: int = 227
    input_channels: int = 3
    num_classes: int = 1000
    #: fire indices (0-based) before which the net downsamples by 2; num_fires means before the classifier
    downsample_before: tuple[int, ...] = (0, 3, 7)
    #: ZynqNet's rules: strided squeeze instead of max-pool, 1x1/3x3 kernels only, "same" padding
    hardware_ready: bool = False
    #: round hidden channel counts up to powers of two (hardware-friendly tiling)
    pow2_channels: bool = False
    batch_norm: bool = False
    classifier_relu: bool = True
    dropout: float = 0.5
    #: classifier padding (the v1.0 release pads its 1x1 conv10 by 1); hardware-ready forces 0
    classifier_padding: int = 0

    def __post_init__(self) -> None:
        for name in ("base_e", "freq", "num_fires"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{name} must be a positive integer, not {value!r}")
        if isinstance(self.incr_e, bool) or not isinstance(self.incr_e, int) or self.incr_e < 0:
            raise SpecError(f"incr_e must be a non-negative integer, not {self.incr_e!r}")
        if not 0.0 <= self.pct_3x3 <= 1.0:
            raise SpecError(f"pct_3x3 must be in [0, 1], not {self.pct_3x3!r}")
        if not self.sr > 0.0:
            raise SpecError(f"sr (squeeze ratio) must be positive, not {self.sr!r}")
        object.__setattr__(self, "bypass", Bypass(self.bypass))
        object.__setattr__(self, "downsample_before", tuple(sorted(self.downsample_before)))
        for index in self.downsample_before:
            if not 0 <= index <= self.num_fires:
                raise SpecError(f"downsample_before: {index} is not a fire index in 0..{self.num_fires}")

    def replace(self, **changes: Any) -> SqueezeNetMeta:
        return dataclasses.replace(self, **changes)


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _pow2_ceil(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 0 else 0


def fire_channels(meta: SqueezeNetMeta, index: int) -> tuple[int, int, int]:
    """(squeeze, expand1x1, expand3x3) filters of fire `index` (0-based)."""
    e = meta.base_e + meta.incr_e * (index // meta.freq)
    e3 = _round_half_up(e * meta.pct_3x3)
    e1 = e - e3
    s = _round_half_up(meta.sr * e)
    if s < 1:
        raise SpecError(
            f"fire{index + 2}: squeeze ratio {meta.sr} x {e} expand filters gives a squeeze layer of 0 filters; "
            f"raise sr to at least {1 / e:.3g} or base_e"
        )
    if meta.pow2_channels:
        s, e1, e3 = _pow2_ceil(s), _pow2_ceil(e1), _pow2_ceil(e3)
    return s, e1, e3


def generate(meta: SqueezeNetMeta, name: str = "squeezenet_space") -> NetSpec:
    """The network at one point of the design space."""
    stem = meta.stem
    classifier_padding = meta.classifier_padding
    if meta.hardware_ready:
        kernel = min(stem.kernel, 3)
        stem = ConvSpec(stem.out_channels, kernel, stem.stride, kernel // 2)
        classifier_padding = 0
        if meta.num_fires in meta.downsample_before:
            raise SpecError(
                "downsampling after the last fire cannot become a strided squeeze (hardware_ready); "
                "move it before an earlier fire"
            )
    if meta.pow2_channels:
        stem = dataclasses.replace(stem, out_channels=_pow2_ceil(stem.out_channels))
    body: list[BodyItem] = []
    for index in range(meta.num_fires + 1):
        downsample = index in meta.downsample_before
        if index == meta.num_fires:
            if downsample:
                body.append(PoolSpec())
            break
        if downsample and not meta.hardware_ready:
            body.append(PoolSpec())
        s, e1, e3 = fire_channels(meta, index)
        strided = downsample and meta.hardware_ready
        body.append(
            FireSpec(
                squeeze=s,
                expand1x1=e1,
                expand3x3=e3,
                squeeze_kernel=3 if strided else 1,
                squeeze_stride=2 if strided else 1,
                bypass=meta.bypass,
            )
        )
    return NetSpec(
        name=name,
        input_channels=meta.input_channels,
        input_size=meta.input_size,
        num_classes=meta.num_classes,
        stem=stem,
        body=tuple(body),
        classifier=ClassifierSpec(kernel=1, padding=classifier_padding, relu=meta.classifier_relu, dropout=meta.dropout),
        batch_norm=meta.batch_norm,
    )
