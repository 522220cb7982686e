"""Bit packing of lane vectors: how `data.ArrayLayout` ports and memory words lay out integers.

Lane i occupies bits [i * bits, (i + 1) * bits), two's complement. Memory
images (weights, biases) and the cocotb benches (which see ports as plain
integers) all pack and unpack through these two functions.
"""

from __future__ import annotations

from collections.abc import Iterable


def pack_lanes(values: Iterable[int], bits: int) -> int:
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return word


def unpack_lane(word: int, offset: int, bits: int, *, signed: bool = True) -> int:
    """The `bits`-wide field at bit `offset` of `word`, sign-extended if `signed`."""
    value = (word >> offset) & ((1 << bits) - 1)
    return value - (1 << bits) if signed and value >> (bits - 1) else value
