"""The quantized graph as a torch module that computes on dequantized values ("fake quantization").

In float64 without gradients every value is a small dyadic rational, so this
module reproduces the golden executor bit for bit by an independent route
(torch convolutions instead of integer im2col); the property tests rely on
that. With gradients it is the vehicle for quantization-aware fine-tuning:
rounding passes gradients straight through (STE), the formats stay fixed,
and codebook centroids are trained through their indices (the gradient of a
centroid is the sum over the weights that share it, as in Deep Compression).
Accumulator wrap-around is not modelled: it only matters when a layer
overflows, which the executor reports.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from firebrick.quant.executor import output_format
from firebrick.quant.fixed_point import Format
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, Concat, Conv, GlobalAvgPool, Input


def round_half_up_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.floor(x + 0.5) - x).detach()


def fake_quantize(x: torch.Tensor, fmt: Format, relu: bool = False) -> torch.Tensor:
    """x rounded (half up) to fmt's grid, ReLU'd, saturated; gradient straight through the rounding."""
    q = round_half_up_ste(x * 2.0**fmt.frac)
    if relu:
        q = torch.clamp(q, min=0)
    return torch.clamp(q, fmt.min_int, fmt.max_int) * 2.0**-fmt.frac


class FakeQuantModel(nn.Module):
    def __init__(self, graph: Graph, dtype: torch.dtype = torch.float64, *, from_floats: bool = False) -> None:
        """Parameters start at the graph's integers (an exact mirror), or at its float shadows (for fine-tuning)."""
        super().__init__()
        self.graph = graph
        self.dtype = dtype
        self.weights = nn.ParameterDict()
        self.biases = nn.ParameterDict()
        self.centroids = nn.ParameterDict()
        self._indices: dict[str, torch.Tensor] = {}
        for name, op in graph.items():
            if not isinstance(op, Conv):
                continue
            key = self.key(name)
            q = op.quant
            if q.codebook is not None:
                # float centroids start at the dequantized codebook
                self.centroids[key] = nn.Parameter(torch.tensor(q.codebook * 2.0**-q.weight_fmt.frac, dtype=dtype))
                self._indices[key] = torch.from_numpy(q.indices.astype("int64"))
            else:
                weight = op.weight if from_floats else q.weight * 2.0**-q.weight_fmt.frac
                self.weights[key] = nn.Parameter(torch.tensor(weight, dtype=dtype))
            bias = op.bias if from_floats else q.bias * 2.0**-q.acc_frac
            self.biases[key] = nn.Parameter(torch.tensor(bias, dtype=dtype))

    @staticmethod
    def key(name: str) -> str:
        return name.replace(".", "__")  # ParameterDict keys may not contain dots

    def conv_weight(self, name: str) -> torch.Tensor:
        q = self.graph.op(name).quant
        key = self.key(name)
        if key in self.centroids:
            return fake_quantize(self.centroids[key], q.weight_fmt)[self._indices[key]]
        return fake_quantize(self.weights[key], q.weight_fmt)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        graph = self.graph
        values: dict[str, torch.Tensor] = {}
        for name, op in graph.items():
            ins = [values[i] for i in graph.inputs(name)]
            if isinstance(op, Input):
                y = fake_quantize(images.to(self.dtype), op.fmt)
            elif isinstance(op, Conv):
                q = op.quant
                bias = fake_quantize(self.biases[self.key(name)], Format(q.acc_bits, q.acc_frac, True))
                y = F.conv2d(ins[0], self.conv_weight(name), bias, op.stride, op.padding)
                y = fake_quantize(y, q.out_fmt, op.relu)
            elif isinstance(op, Concat):
                y = torch.cat(ins, dim=1)
            elif isinstance(op, Add):
                y = fake_quantize(ins[0] + ins[1], op.fmt, op.relu)
            elif isinstance(op, GlobalAvgPool):
                in_frac = output_format(graph, graph.inputs(name)[0]).frac
                total = ins[0].sum(dim=(2, 3), keepdim=True) * 2.0**in_frac * op.multiplier
                y = fake_quantize(total * 2.0**-op.shift * 2.0**-op.fmt.frac, op.fmt)
            else:
                raise TypeError(f"{name}: {type(op).__name__}")
            values[name] = y
        return values[graph.output]

    def integer_outputs(self, images: torch.Tensor) -> torch.Tensor:
        """The output node's integers (exact in float64)."""
        fmt = output_format(self.graph, self.graph.output)
        with torch.no_grad():
            return torch.round(self.forward(images) * 2.0**fmt.frac).to(torch.int64)
