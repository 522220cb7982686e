"""Named networks: the released SqueezeNets and ZynqNet, hardware-ready variants, small built-ins.

Layer tables: ../shared/ZOO.md (counted from the released Caffe deploy files).
A `_hw` suffix means ZynqNet's rules applied (see `design_space.generate`) at a
256x256 input, so that every feature map is a power of two on a side and the
final average pool is a shift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from firebrick.errors import unknown_name
from firebrick.models.design_space import SqueezeNetMeta, generate
from firebrick.models.spec import ClassifierSpec, ConvSpec, FireSpec, NetSpec

if TYPE_CHECKING:
    from firebrick.models.firenet import FireNet

DEFAULT_MODEL = "squeezenet_tiny32_hw"
#: the dataset of a zoo model that names none
DEFAULT_DATASET = "digits"

SQUEEZENET1_0 = SqueezeNetMeta(
    stem=ConvSpec(96, 7, 2, 0), downsample_before=(0, 3, 7), classifier_padding=1
)
SQUEEZENET1_1 = SqueezeNetMeta(stem=ConvSpec(64, 3, 2, 0), downsample_before=(0, 2, 4))

# The small built-ins: 4 fires, e = 32, 32, 64, 64 and SR 0.25, one grayscale channel,
# 10 classes; batch norm (folded away by quantization) makes them train in seconds.
_TINY = SqueezeNetMeta(
    base_e=32, incr_e=32, pct_3x3=0.5, freq=2, sr=0.25, num_fires=4,
    input_channels=1, num_classes=10, downsample_before=(1, 3),
    batch_norm=True, classifier_relu=False, dropout=0.1,
)
TINY8 = _TINY.replace(stem=ConvSpec(16, 3, 1, 1), input_size=8)
TINY28 = _TINY.replace(stem=ConvSpec(16, 3, 2, 1), input_size=28)
TINY32 = _TINY.replace(stem=ConvSpec(16, 3, 2, 1), input_size=32)


def zynqnet_spec() -> NetSpec:
    """ZynqNet (Gschwend 2016): no max-pool, 3x3/2 squeeze in fire2/4/6/8, 1024-way conv10."""
    fires = [  # squeeze, expand per branch, strided squeeze
        (16, 64, True), (16, 64, False), (32, 128, True), (32, 128, False),
        (64, 256, True), (64, 192, False), (112, 256, True), (112, 368, False),
    ]
    body = tuple(
        FireSpec(s, e, e, squeeze_kernel=3 if strided else 1, squeeze_stride=2 if strided else 1)
        for s, e, strided in fires
    )
    # The release's conv10 is two 1x1 convs of 512 filters over all 736 inputs, concatenated:
    # the same weights, MACs and outputs as one conv of 1024 filters.
    return NetSpec(
        name="zynqnet",
        input_channels=3,
        input_size=256,
        num_classes=1024,
        stem=ConvSpec(64, 3, 2, 1),
        body=body,
        classifier=ClassifierSpec(kernel=1, padding=0, relu=False, dropout=0.5),
    )


@dataclass(frozen=True)
class ZooEntry:
    name: str
    description: str
    build_spec: Callable[[], NetSpec]
    #: the built-in dataset it is sized for (None: ImageNet-sized, bring an image folder)
    dataset: str | None = None


def _space(name: str, meta: SqueezeNetMeta) -> Callable[[], NetSpec]:
    return lambda: generate(meta, name)


def _hw(name: str, meta: SqueezeNetMeta, **changes: object) -> Callable[[], NetSpec]:
    return _space(name, meta.replace(hardware_ready=True, **changes))


_ENTRIES = [
    ZooEntry("squeezenet1_0", "SqueezeNet v1.0 as released (227x227, 7x7 stem, 3 max-pools)", _space("squeezenet1_0", SQUEEZENET1_0)),
    ZooEntry("squeezenet1_1", "SqueezeNet v1.1 as released (227x227, 3x3 stem, early max-pools)", _space("squeezenet1_1", SQUEEZENET1_1)),
    ZooEntry("zynqnet", "ZynqNet as released (256x256, strided squeeze, no max-pool)", zynqnet_spec),
    ZooEntry("squeezenet1_0_hw", "SqueezeNet v1.0 with ZynqNet's rules at 256x256 (3x3 stem)", _hw("squeezenet1_0_hw", SQUEEZENET1_0, input_size=256)),
    ZooEntry("squeezenet1_1_hw", "SqueezeNet v1.1 with ZynqNet's rules at 256x256", _hw("squeezenet1_1_hw", SQUEEZENET1_1, input_size=256)),
    ZooEntry("squeezenet_tiny8", "4-fire SqueezeNet for 8x8 digits (max-pool)", _space("squeezenet_tiny8", TINY8), "digits"),
    ZooEntry("squeezenet_tiny8_hw", "4-fire SqueezeNet for 8x8 digits, hardware-ready", _hw("squeezenet_tiny8_hw", TINY8), "digits"),
    ZooEntry("squeezenet_tiny28", "4-fire SqueezeNet for 28x28 MNIST (max-pool)", _space("squeezenet_tiny28", TINY28), "mnist"),
    ZooEntry("squeezenet_tiny28_hw", "4-fire SqueezeNet for 28x28 MNIST, hardware-ready", _hw("squeezenet_tiny28_hw", TINY28), "mnist"),
    ZooEntry("squeezenet_tiny32", "4-fire SqueezeNet for 32x32 inputs (max-pool)", _space("squeezenet_tiny32", TINY32), "digits"),
    ZooEntry("squeezenet_tiny32_hw", "4-fire SqueezeNet for 32x32 inputs, hardware-ready (the default)", _hw("squeezenet_tiny32_hw", TINY32), "digits"),
]
ZOO: dict[str, ZooEntry] = {entry.name: entry for entry in _ENTRIES}

#: the metaparameter sets the design-space models start from (sweeps vary them; `hardware_ready` is an axis)
BASE_METAS: dict[str, SqueezeNetMeta] = {
    "squeezenet1_0": SQUEEZENET1_0, "squeezenet1_1": SQUEEZENET1_1, "tiny8": TINY8, "tiny28": TINY28, "tiny32": TINY32,
}


def base_meta(name: str) -> SqueezeNetMeta:
    try:
        return BASE_METAS[name]
    except KeyError:
        raise unknown_name("base model", name, BASE_METAS) from None


def zoo_entry(name: str) -> ZooEntry:
    try:
        return ZOO[name]
    except KeyError:
        raise unknown_name("model", name, ZOO) from None


def model_spec(name: str, *, input_size: int | None = None, num_classes: int | None = None) -> NetSpec:
    """The spec of a zoo model, optionally at another input size or class count."""
    spec = zoo_entry(name).build_spec()
    changes: dict[str, int] = {}
    if input_size is not None:
        changes["input_size"] = input_size
    if num_classes is not None:
        changes["num_classes"] = num_classes
    return spec.replace(**changes) if changes else spec


def build_model(name: str, **kwargs: int | None) -> FireNet:
    from firebrick.models.firenet import FireNet  # torch only when a model is built: `firebrick --help` stays quick

    return FireNet(model_spec(name, **kwargs))


def resolve_dataset(model: str, dataset: str | None) -> str:
    """The dataset named, else the one the zoo model is sized for, else the default."""
    return dataset or zoo_entry(model).dataset or DEFAULT_DATASET


def training_spec(model: str, dataset_name: str, *, input_size: int | None = None, fit: str = "resize", seed: int = 0):
    """The zoo model sized for the dataset's classes, and the dataset fitted to the model's input."""
    from firebrick.models.datasets import load_dataset

    base = model_spec(model, input_size=input_size)
    dataset = load_dataset(dataset_name, channels=base.input_channels, size=base.input_size, fit=fit, seed=seed)
    return base.replace(num_classes=dataset.num_classes), dataset
