"""Which requantization shifts the datapath implements, and how the compiler fits a layer's shift to them.

The shift is a run-time value per layer: positive shifts round half up (the
rounding constant 2**(shift-1) is added first, `round_shift_clip.py`),
negative shifts are exact left shifts. Left shifts beyond act_bits + 1
saturate every non-zero value anyway, so the compiler clamps them there and
the datapath stays act_bits + 1 bits wider than the accumulator.
"""

from __future__ import annotations

from firebrick.hw.params import ArrayParams


def max_left_shift(params: ArrayParams) -> int:
    return params.act_bits + 1


def conv_shift_range(params: ArrayParams) -> tuple[int, int]:
    """Shifts a conv (and a bypass add) may take: [-max_left, acc_bits - 1]."""
    return -max_left_shift(params), params.acc_bits - 1
