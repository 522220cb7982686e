"""A declarative description of a SqueezeNet-family network.

A `NetSpec` is plain data: a stem convolution, a body of fire modules and
max-pools, and a 1x1 classifier convolution followed by global average
pooling. The released networks, the design-space generator and checkpoints all
speak it; `firebrick.models.firenet.FireNet` builds the torch module from it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any

from firebrick.errors import SpecError

SPEC_VERSION = 1


class Bypass(str, enum.Enum):
    """Residual connections around fire modules (SqueezeNet paper, section 6)."""

    NONE = "none"
    #: identity shortcut around fires whose input and output shapes match
    SIMPLE = "simple"
    #: identity where shapes match, a 1x1 convolution (strided if needed) elsewhere
    COMPLEX = "complex"


def _check_positive(owner: str, name: str, value: Any, *, zero_ok: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero_ok else 1):
        kind = "a non-negative" if zero_ok else "a positive"
        raise SpecError(f"{owner}: {name} must be {kind} integer, not {value!r}")


def _check_kernel(owner: str, kernel: int, stride: int, padding: int) -> None:
    _check_positive(owner, "kernel", kernel)
    _check_positive(owner, "stride", stride)
    _check_positive(owner, "padding", padding, zero_ok=True)


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Spatial output size of a convolution (floor mode, as Caffe and PyTorch)."""
    return (size + 2 * padding - kernel) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, ceil_mode: bool) -> int:
    """Spatial output size of an unpadded max-pool; ceil mode is Caffe's default."""
    if not ceil_mode:
        return (size - kernel) // stride + 1
    out = math.ceil((size - kernel) / stride) + 1
    if (out - 1) * stride >= size:  # the last window must start inside the input
        out -= 1
    return out


@dataclass(frozen=True)
class ConvSpec:
    """The stem: one convolution followed by ReLU."""

    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0

    def __post_init__(self) -> None:
        _check_positive("stem", "out_channels", self.out_channels)
        _check_kernel("stem", self.kernel, self.stride, self.padding)


@dataclass(frozen=True)
class FireSpec:
    """A fire module: squeeze conv, then 1x1 and 3x3 expand convs concatenated (e1 first)."""

    #: squeeze filters (s_1x1 in the dissertation)
    squeeze: int
    #: 1x1 expand filters; 0 drops the branch
    expand1x1: int
    #: 3x3 expand filters; 0 drops the branch
    expand3x3: int
    #: squeeze kernel: 1 as in SqueezeNet, 3 where ZynqNet downsamples in the squeeze
    squeeze_kernel: int = 1
    #: squeeze stride: 2 downsamples (ZynqNet's replacement for max-pool)
    squeeze_stride: int = 1
    bypass: Bypass = Bypass.NONE

    def __post_init__(self) -> None:
        _check_positive("fire", "squeeze", self.squeeze)
        _check_positive("fire", "expand1x1", self.expand1x1, zero_ok=True)
        _check_positive("fire", "expand3x3", self.expand3x3, zero_ok=True)
        if self.expand1x1 + self.expand3x3 == 0:
            raise SpecError("fire: expand1x1 + expand3x3 is 0, a fire module needs at least one expand filter")
        _check_kernel("fire", self.squeeze_kernel, self.squeeze_stride, 0)
        object.__setattr__(self, "bypass", Bypass(self.bypass))

    @property
    def out_channels(self) -> int:
        return self.expand1x1 + self.expand3x3

    @property
    def squeeze_padding(self) -> int:
        return self.squeeze_kernel // 2


@dataclass(frozen=True)
class PoolSpec:
    """A max-pool (SqueezeNet downsamples with 3x3/2 ceil-mode pools)."""

    kernel: int = 3
    stride: int = 2
    ceil_mode: bool = True

    def __post_init__(self) -> None:
        _check_kernel("maxpool", self.kernel, self.stride, 0)


@dataclass(frozen=True)
class ClassifierSpec:
    """Dropout, a conv to the classes (optionally ReLU), then global average pooling."""

    kernel: int = 1
    padding: int = 0
    relu: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        _check_kernel("classifier", self.kernel, 1, self.padding)
        if not 0.0 <= self.dropout < 1.0:
            raise SpecError(f"classifier: dropout must be in [0, 1), not {self.dropout!r}")


BodyItem = FireSpec | PoolSpec


@dataclass(frozen=True)
class NetSpec:
    """A complete network: input shape, stem, body, classifier."""

    name: str
    input_channels: int
    input_size: int
    num_classes: int
    stem: ConvSpec
    body: tuple[BodyItem, ...]
    classifier: ClassifierSpec = field(default_factory=ClassifierSpec)
    #: batch norm after every conv but the classifier (quantization folds it into the conv)
    batch_norm: bool = False

    def __post_init__(self) -> None:
        _check_positive(self.name, "input_channels", self.input_channels)
        _check_positive(self.name, "input_size", self.input_size)
        _check_positive(self.name, "num_classes", self.num_classes)
        object.__setattr__(self, "body", tuple(self.body))
        if not any(isinstance(item, FireSpec) for item in self.body):
            raise SpecError(f"{self.name}: the body has no fire module")
        self.feature_sizes()  # raises if the input shrinks to nothing

    @property
    def fires(self) -> list[FireSpec]:
        return [item for item in self.body if isinstance(item, FireSpec)]

    @property
    def hardware_ready(self) -> bool:
        """True when the accelerator can run it: no max-pool, only 1x1 and 3x3 kernels."""
        kernels = [self.stem.kernel, self.classifier.kernel]
        kernels += [f.squeeze_kernel for f in self.fires]
        return all(isinstance(i, FireSpec) for i in self.body) and set(kernels) <= {1, 3}

    def feature_sizes(self) -> list[int]:
        """Spatial size after the stem and after each body item, in order."""
        size = conv_output_size(self.input_size, self.stem.kernel, self.stem.stride, self.stem.padding)
        sizes = [size]
        where = "the stem"
        for index, item in enumerate([None, *self.body]):
            if item is not None:
                where = f"body item {index} ({'fire' if isinstance(item, FireSpec) else 'maxpool'})"
                if isinstance(item, FireSpec):
                    size = conv_output_size(size, item.squeeze_kernel, item.squeeze_stride, item.squeeze_padding)
                else:
                    size = pool_output_size(size, item.kernel, item.stride, item.ceil_mode)
                sizes.append(size)
            if size < 1:
                raise SpecError(
                    f"{self.name}: input {self.input_size}x{self.input_size} shrinks to nothing after {where}; "
                    "use a larger input or fewer downsampling steps"
                )
        return sizes

    def to_dict(self) -> dict[str, Any]:
        body = []
        for item in self.body:
            kind = "fire" if isinstance(item, FireSpec) else "maxpool"
            entry = {"kind": kind, **dataclasses.asdict(item)}
            if kind == "fire":
                entry["bypass"] = item.bypass.value
            body.append(entry)
        return {
            "version": SPEC_VERSION,
            "name": self.name,
            "input_channels": self.input_channels,
            "input_size": self.input_size,
            "num_classes": self.num_classes,
            "stem": dataclasses.asdict(self.stem),
            "body": body,
            "classifier": dataclasses.asdict(self.classifier),
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetSpec:
        try:
            if data.get("version") != SPEC_VERSION:
                raise SpecError(f"network spec version {data.get('version')!r} is not {SPEC_VERSION}")
            body: list[BodyItem] = []
            for entry in data["body"]:
                entry = dict(entry)
                kind = entry.pop("kind")
                body.append(FireSpec(**entry) if kind == "fire" else PoolSpec(**entry))
            return cls(
                name=data["name"],
                input_channels=data["input_channels"],
                input_size=data["input_size"],
                num_classes=data["num_classes"],
                stem=ConvSpec(**data["stem"]),
                body=tuple(body),
                classifier=ClassifierSpec(**data["classifier"]),
                batch_norm=data["batch_norm"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SpecError):
                raise
            raise SpecError(f"malformed network spec: {exc}") from exc

    def replace(self, **changes: Any) -> NetSpec:
        return dataclasses.replace(self, **changes)
