"""Exact analytic cost of a model: per-layer parameters, MACs, activations, bytes.

Shapes come from one forward pass on PyTorch's `meta` device (no data, no
arithmetic), so the count works for any `nn.Module` built from Conv2d, Linear,
pooling and batch norm, and is exact: MACs count every output position,
zero-padded borders included, as the published SqueezeNet figures do.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from firebrick.models.firenet import FireNet

#: bias and accumulator width in the hardware (ARCHITECTURE.md: int32 bias)
BIAS_BITS = 32

_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer; shapes are (C, H, W) or (features,) without the batch axis."""

    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel: int
    stride: int
    padding: int
    params: int
    macs: int
    #: output elements of the layer
    activations: int
    #: output bytes at the activation bit width
    activation_bytes: int
    #: weights at the weight bit width plus biases at 32 bits, batch norm folded into the conv before it
    weight_bytes: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["in_shape"], d["out_shape"] = list(self.in_shape), list(self.out_shape)
        return d


@dataclass(frozen=True)
class ModelCost:
    model: str
    input_shape: tuple[int, int, int]
    weight_bits: int
    activation_bits: int
    layers: list[LayerCost] = field(default_factory=list)
    #: all parameters of the module (equals the sum over layers for supported modules)
    params: int = 0

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def activations(self) -> int:
        return sum(layer.activations for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers)

    @property
    def peak_activation_bytes(self) -> int:
        """Largest single layer output: a lower bound on the activation buffer."""
        return max((layer.activation_bytes for layer in self.layers), default=0)

    def layer(self, name: str) -> LayerCost:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input": list(self.input_shape),
            "weight_bits": self.weight_bits,
            "activation_bits": self.activation_bits,
            "params": self.params,
            "macs": self.macs,
            "activations": self.activations,
            "weight_bytes": self.weight_bytes,
            "peak_activation_bytes": self.peak_activation_bytes,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def _pair(value: Any) -> int:
    """The side of a square kernel/stride/padding (non-square is reported by its first side)."""
    return int(value[0] if isinstance(value, tuple) else value)


def layer_display_name(qualified: str) -> str:
    """features.fire2.squeeze.conv -> fire2.squeeze (FireNet's containers are noise in a report)."""
    parts = qualified.split(".")
    if parts and parts[0] in ("features", "classifier"):
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] in ("conv", "bn"):
        parts = parts[:-1] if parts[-1] == "conv" else parts[:-1] + ["bn"]
    return ".".join(parts)


def _bytes(count: int, bits: int) -> int:
    return math.ceil(count * bits / 8)


def model_cost(
    model: nn.Module,
    input_shape: tuple[int, int, int] | None = None,
    *,
    weight_bits: int = 8,
    activation_bits: int = 8,
    name: str | None = None,
) -> ModelCost:
    """Per-layer cost of `model` on one image of `input_shape` (C, H, W)."""
    if input_shape is None:
        if not isinstance(model, FireNet):
            raise ValueError("input_shape is required for a model that is not a FireNet")
        spec = model.spec
        input_shape = (spec.input_channels, spec.input_size, spec.input_size)
    name = name or (model.spec.name if isinstance(model, FireNet) else type(model).__name__)
    meta_model = copy.deepcopy(model).to("meta").eval()
    layers: list[LayerCost] = []
    biasless: set[int] = set()  # indices of convs without a bias of their own

    def record(qualified: str, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        in_shape = tuple(inputs[0].shape[1:])
        out_shape = tuple(output.shape[1:])
        out_elems = math.prod(out_shape)
        weights = module.weight.numel() if getattr(module, "weight", None) is not None else 0
        biases = module.bias.numel() if getattr(module, "bias", None) is not None else 0
        kernel, stride, padding = 1, 1, 0
        if isinstance(module, nn.Conv2d):
            kind = "conv"
            kernel, stride, padding = _pair(module.kernel_size), _pair(module.stride), _pair(module.padding)
            macs = out_elems * (module.in_channels // module.groups) * math.prod(module.kernel_size)
            if module.bias is None:
                biasless.add(len(layers))
        elif isinstance(module, nn.Linear):
            kind, macs = "linear", out_elems * module.in_features
        elif isinstance(module, nn.BatchNorm2d):
            kind, macs = "batchnorm", 0  # folded into the conv before quantization
        else:
            kind = "maxpool" if isinstance(module, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)) else "avgpool"
            macs = 0
            if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
                kernel, stride, padding = _pair(module.kernel_size), _pair(module.stride), _pair(module.padding)
            else:
                kernel = in_shape[-1]
        if kind == "batchnorm" and layers and layers[-1].kind == "conv" and layers[-1].out_shape == out_shape:
            # Deployed form: the norm folds into the conv before it, which gains a 32-bit bias if it had none.
            if len(layers) - 1 in biasless:
                conv = layers[-1]
                layers[-1] = dataclasses.replace(conv, weight_bytes=conv.weight_bytes + _bytes(out_shape[0], BIAS_BITS))
        layers.append(
            LayerCost(
                name=layer_display_name(qualified),
                kind=kind,
                in_shape=in_shape,
                out_shape=out_shape,
                kernel=kernel,
                stride=stride,
                padding=padding,
                params=weights + biases,
                macs=macs,
                activations=out_elems,
                activation_bytes=_bytes(out_elems, activation_bits),
                weight_bytes=_bytes(weights, weight_bits) + _bytes(biases, BIAS_BITS) if kind != "batchnorm" else 0,
            )
        )

    handles = []
    for qualified, module in meta_model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d, *_POOLS)):
            handles.append(module.register_forward_hook(lambda m, i, o, q=qualified: record(q, m, i, o)))
    try:
        with torch.no_grad():
            meta_model(torch.empty(1, *input_shape, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    params = sum(p.numel() for p in model.parameters())
    return ModelCost(name, tuple(input_shape), weight_bits, activation_bits, layers, params)
