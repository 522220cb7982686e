"""The torch module for any `NetSpec`: stem, fire modules, max-pools, classifier.

Module names follow the Caffe releases (conv1, fire2.squeeze, fire2.expand1x1,
pool3, conv10) so that per-layer reports read like the papers. Every op is a
plain module call or `torch.cat` / `+`, so torch.fx traces it.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from firebrick.models.spec import Bypass, FireSpec, NetSpec, PoolSpec


def _conv_block(cin: int, cout: int, kernel: int, stride: int, padding: int, batch_norm: bool) -> nn.Sequential:
    layers: list[tuple[str, nn.Module]] = [("conv", nn.Conv2d(cin, cout, kernel, stride, padding, bias=not batch_norm))]
    if batch_norm:
        layers.append(("bn", nn.BatchNorm2d(cout)))
    layers.append(("relu", nn.ReLU(inplace=False)))
    return nn.Sequential(OrderedDict(layers))


class Fire(nn.Module):
    """Squeeze (1x1, or 3x3/2 in ZynqNet), then concatenated 1x1 and 3x3 expands, plus an optional bypass."""

    def __init__(self, in_channels: int, spec: FireSpec, *, batch_norm: bool) -> None:
        super().__init__()
        s = spec
        self.squeeze = _conv_block(in_channels, s.squeeze, s.squeeze_kernel, s.squeeze_stride, s.squeeze_padding, batch_norm)
        self.expand1x1 = _conv_block(s.squeeze, s.expand1x1, 1, 1, 0, batch_norm) if s.expand1x1 else None
        self.expand3x3 = _conv_block(s.squeeze, s.expand3x3, 3, 1, 1, batch_norm) if s.expand3x3 else None
        self.bypass = fire_bypass(in_channels, s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.squeeze(x)
        branches = [branch(squeezed) for branch in (self.expand1x1, self.expand3x3) if branch is not None]
        out = torch.cat(branches, dim=1) if len(branches) > 1 else branches[0]
        if self.bypass is not None:
            out = out + self.bypass(x)
        return out


def fire_bypass(in_channels: int, spec: FireSpec) -> nn.Module | None:
    """The shortcut of a fire: identity where shapes match, a 1x1 conv in complex mode, else none."""
    if spec.bypass is Bypass.NONE:
        return None
    if in_channels == spec.out_channels and spec.squeeze_stride == 1:
        return nn.Identity()
    if spec.bypass is Bypass.COMPLEX:
        return nn.Conv2d(in_channels, spec.out_channels, 1, spec.squeeze_stride, 0)
    return None


class FireNet(nn.Module):
    """A SqueezeNet-family network built from a `NetSpec`; outputs class logits (N, classes)."""

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        self.spec = spec
        bn = spec.batch_norm
        layers: list[tuple[str, nn.Module]] = []
        stem = spec.stem
        layers.append(("conv1", _conv_block(spec.input_channels, stem.out_channels, stem.kernel, stem.stride, stem.padding, bn)))
        channels = stem.out_channels
        # Caffe numbering: a pool takes the number of the layer before it (pool1 after conv1),
        # fires count on from 2.
        number = 1
        for item in spec.body:
            if isinstance(item, PoolSpec):
                layers.append((f"pool{number}", nn.MaxPool2d(item.kernel, item.stride, ceil_mode=item.ceil_mode)))
            else:
                number += 1
                layers.append((f"fire{number}", Fire(channels, item, batch_norm=bn)))
                channels = item.out_channels
        self.features = nn.Sequential(OrderedDict(layers))
        head: list[tuple[str, nn.Module]] = []
        if spec.classifier.dropout > 0:
            head.append(("dropout", nn.Dropout(spec.classifier.dropout)))
        head.append(("conv10", nn.Conv2d(channels, spec.num_classes, spec.classifier.kernel, 1, spec.classifier.padding)))
        if spec.classifier.relu:
            head.append(("relu10", nn.ReLU(inplace=False)))
        head.append(("pool10", nn.AdaptiveAvgPool2d(1)))
        head.append(("flatten", nn.Flatten(1)))
        self.classifier = nn.Sequential(OrderedDict(head))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal convs with zero bias; a small classifier (fire nets without BN stall otherwise)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        classifier = self.classifier.get_submodule("conv10")
        nn.init.normal_(classifier.weight, mean=0.0, std=0.01)
        nn.init.zeros_(classifier.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
