"""Requantization in hardware: accumulator (+ bias) -> rounding shift -> clip, as `fixed_point.requantize`.

The shift is a run-time value per layer: positive shifts round half up
(add 2**(shift-1), arithmetic shift right), negative shifts are exact left
shifts. ReLU and saturation are one clip to [lo, hi], where the compiler sets
lo = max(format minimum, 0) for a fused ReLU. Left shifts beyond act_bits + 1
saturate every non-zero value anyway, so the compiler clamps them there and the
datapath stays act_bits + 1 bits wider than the accumulator.
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.params import ArrayParams


def max_left_shift(params: ArrayParams) -> int:
    return params.act_bits + 1


def shift_range(params: ArrayParams) -> tuple[int, int]:
    """Shifts the datapath implements: [-max_left, acc_bits - 1]."""
    return -max_left_shift(params), params.acc_bits - 1


def shift_round_clip(m: Module, value, shift, lo, hi, *, value_bits: int, max_left: int, name: str):
    """Combinational: clip(round_half_up(value * 2**-shift), lo, hi); returns the result signal."""
    wide = value_bits + max_left + 1
    shifted = Signal(signed(wide), name=f"{name}_shifted")
    right = Signal(range(value_bits + 1), name=f"{name}_right")
    left = Signal(range(max_left + 1), name=f"{name}_left")
    m.d.comb += [
        right.eq(Mux(shift > 0, shift, 0)),
        left.eq(Mux(shift < 0, -shift, 0)),
    ]
    with m.If(shift > 0):
        half_position = Signal(range(value_bits + 1), name=f"{name}_half")
        rounding = Signal(signed(value_bits + 2), name=f"{name}_rounded")
        m.d.comb += half_position.eq(right - 1)
        m.d.comb += rounding.eq(value + (Const(1, unsigned(value_bits + 1)) << half_position))
        m.d.comb += shifted.eq(rounding >> right)
    with m.Else():
        m.d.comb += shifted.eq(value << left)
    result = Signal(signed(wide), name=f"{name}_clipped")
    m.d.comb += result.eq(Mux(shifted < lo, lo, Mux(shifted > hi, hi, shifted)))
    return result


class Requantizer(wiring.Component):
    """Two pipeline stages: wrap(acc + bias), then shift, round and clip to the output range."""

    def __init__(self, params: ArrayParams) -> None:
        self.params = params
        low, high = shift_range(params)
        out_shape = signed(params.lane_act_bits + 1)
        super().__init__({
            "acc": In(signed(params.acc_bits)),
            "bias": In(signed(params.acc_bits)),
            "valid": In(1),
            "shift": In(range(low, high + 1)),
            "lo": In(out_shape),
            "hi": In(out_shape),
            "out": Out(out_shape),
            "out_valid": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        total = Signal(signed(p.acc_bits))
        total_valid = Signal()
        m.d.sync += [total.eq(self.acc + self.bias), total_valid.eq(self.valid)]  # truncation = acc wrap
        result = shift_round_clip(m, total, self.shift, self.lo, self.hi,
                                  value_bits=p.acc_bits, max_left=max_left_shift(p), name="rq")
        m.d.sync += [self.out.eq(result), self.out_valid.eq(total_valid)]
        return m
