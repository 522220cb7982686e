"""Float reference execution of a graph in torch: checks lowering and feeds calibration."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, BatchNorm, Concat, Conv, GlobalAvgPool, Input, Relu


@torch.no_grad()
def run_float(graph: Graph, images: torch.Tensor, *, keep_all: bool = False) -> dict[str, torch.Tensor]:
    """Outputs of every node (keep_all) or of the output node, from float images (N, C, H, W)."""
    values: dict[str, torch.Tensor] = {}
    freed_after = {} if keep_all else graph.last_uses()
    for name, op in graph.items():
        ins = [values[i] for i in graph.inputs(name)]
        if isinstance(op, Input):
            y = images.to(torch.float32)
        elif isinstance(op, Conv):
            y = F.conv2d(ins[0], torch.from_numpy(op.weight), torch.from_numpy(op.bias), op.stride, op.padding)
            y = F.relu(y) if op.relu else y
        elif isinstance(op, BatchNorm):
            y = F.batch_norm(ins[0], torch.from_numpy(op.mean), torch.from_numpy(op.var),
                             torch.from_numpy(op.gamma), torch.from_numpy(op.beta), False, 0.0, op.eps)
        elif isinstance(op, Relu):
            y = F.relu(ins[0])
        elif isinstance(op, Concat):
            y = torch.cat(ins, dim=1)
        elif isinstance(op, Add):
            y = ins[0] + ins[1]
            y = F.relu(y) if op.relu else y
        elif isinstance(op, GlobalAvgPool):
            y = ins[0].mean(dim=(2, 3), keepdim=True)
        else:
            raise TypeError(f"{name}: unknown op {type(op).__name__}")
        values[name] = y
        for dead in freed_after.get(name, ()):  # free what no later node needs
            del values[dead]
    return values if keep_all else {graph.output: values[graph.output]}


def logits(graph: Graph, images: torch.Tensor) -> torch.Tensor:
    """(N, classes) scores from the output node."""
    return run_float(graph, images)[graph.output].flatten(1)
