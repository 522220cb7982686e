"""Bit packing of lane vectors: how `data.ArrayLayout` ports and memory words lay out integers.

Lane i occupies bits [i * bits, (i + 1) * bits), two's complement. Memory
images (weights, biases) and the cocotb benches (which see ports as plain
integers) all pack and unpack through these functions; `image_beats` is how an
image travels on the accelerator's image stream.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def pack_lanes(values: Iterable[int], bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


def unpack_lane(word: int, offset: int, bits: int, *, signed: bool = True) -> int:
    """The `bits`-wide field at bit `offset` of `word`, sign-extended if `signed`."""
    value = (word >> offset) & ((1 << bits) - 1)
    return value - (1 << bits) if signed and value >> (bits - 1) else value


def image_beats(image: np.ndarray, lanes: int) -> list[list[int]]:
    """(C, H, W) integers -> stream beats of `lanes` pixels of one channel, the last padded with zeros."""
    beats = []
    for channel in image:
        flat = [int(v) for v in channel.ravel()]
        for start in range(0, len(flat), lanes):
            chunk = flat[start : start + lanes]
            beats.append(chunk + [0] * (lanes - len(chunk)))
    return beats
