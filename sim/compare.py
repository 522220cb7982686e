"""Bit-exact comparison of hardware outputs with the golden executor, naming the first difference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mismatch:
    layer: str
    channel: int
    y: int
    x: int
    expected: int
    got: int
    count: int

    def __str__(self) -> str:
        return (f"layer '{self.layer}' channel {self.channel} pixel (y={self.y}, x={self.x}): "
                f"expected {self.expected}, got {self.got} ({self.count} values differ in this layer)")


def first_mismatch(expected: dict[str, np.ndarray], got: dict[str, np.ndarray], order: list[str]) -> Mismatch | None:
    """The first differing value in graph order; arrays are (C, H, W) for one image."""
    for layer in order:
        if layer not in got:
            continue
        want, have = np.asarray(expected[layer]), np.asarray(got[layer])
        if want.shape != have.shape:
            return Mismatch(layer, -1, -1, -1, -1, -1, max(want.size, have.size))
        diff = np.argwhere(want != have)
        if len(diff):
            c, y, x = (int(v) for v in diff[0])
            return Mismatch(layer, c, y, x, int(want[c, y, x]), int(have[c, y, x]), len(diff))
    return None
