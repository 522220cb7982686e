"""Calibration: the range of every tensor over a set of images, in float."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from firebrick.quant.fixed_point import QuantizationError
from firebrick.quant.float_executor import run_float
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Input


@dataclass(frozen=True)
class Range:
    min: float
    max: float

    @property
    def max_abs(self) -> float:
        return max(abs(self.min), abs(self.max))


def check_images(graph: Graph, images: np.ndarray | torch.Tensor, what: str = "calibration images") -> torch.Tensor:
    shape = tuple(graph.op(graph.input).shape)  # type: ignore[union-attr]
    images = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if images.ndim != 4 or tuple(images.shape[1:]) != shape:
        raise QuantizationError(f"{what} are shaped {tuple(images.shape)}; the graph takes (N, {', '.join(map(str, shape))})")
    if len(images) == 0:
        raise QuantizationError(f"no {what}")
    if not torch.isfinite(images).all():
        raise QuantizationError(f"{what} hold NaN or infinite values")
    return images


def calibrate(graph: Graph, images: np.ndarray | torch.Tensor, batch_size: int = 128) -> dict[str, Range]:
    """Min and max of every node's output over `images` (N, C, H, W)."""
    images = check_images(graph, images)
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for start in range(0, len(images), batch_size):
        for name, value in run_float(graph, images[start : start + batch_size], keep_all=True).items():
            lo[name] = min(lo.get(name, np.inf), float(value.min()))
            hi[name] = max(hi.get(name, -np.inf), float(value.max()))
    for name, op in graph.items():
        if not (np.isfinite(lo[name]) and np.isfinite(hi[name])):
            what = "input images" if isinstance(op, Input) else f"layer '{name}'"
            raise QuantizationError(f"{what} produced NaN or infinite values during calibration; check the weights")
    return {name: Range(lo[name], hi[name]) for name in graph.nodes()}
