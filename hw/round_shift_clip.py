"""The requantizer core, pipelined: clip(round_half_up(value * 2**-shift), lo, hi), as `fixed_point.requantize`.

Three register stages (`ROUND_SHIFT_CLIP_LATENCY`): add the layer's rounding
constant (the compiler's 2**(shift - 1) for a right shift, 0 otherwise), shift
(right: arithmetic; left, for a negative shift: exact), clip to [lo, hi]. ReLU
is the clip with lo = 0. The shift, rounding constant and bounds are the
layer's and stay put while it runs. The conv write-back, the bypass add and
the global pool all end in one of these.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.latency import ROUND_SHIFT_CLIP_LATENCY


def round_shift_clip(value: int, shift: int, lo: int, hi: int) -> int:
    """Reference model (the golden executor's arithmetic on one value)."""
    shifted = (value + (1 << (shift - 1))) >> shift if shift > 0 else value << -shift
    return min(max(shifted, lo), hi)


def rounding_constant(shift: int) -> int:
    """What the compiler puts in a step's `round` field for `shift`."""
    return 1 << (shift - 1) if shift > 0 else 0


class RoundShiftClip(wiring.Component):
    def __init__(self, *, value_bits: int, max_right: int, max_left: int, out_bits: int, shift_shape, round_bits: int) -> None:
        self.value_bits, self.max_right, self.max_left, self.out_bits = value_bits, max_right, max_left, out_bits
        out = signed(out_bits)
        super().__init__({
            "value": In(signed(value_bits)),
            "valid": In(1),
            "shift": In(shift_shape),
            "round": In(unsigned(round_bits)),
            "lo": In(out),
            "hi": In(out),
            "out": Out(out),
            "out_valid": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        rounded = Signal(signed(max(self.value_bits, len(self.round) + 1) + 1))
        shifted = Signal(signed(len(rounded) + self.max_left))
        right = Signal(range(self.max_right + 1))
        left = Signal(range(self.max_left + 1))
        valid = [Signal(name=f"valid_d{i}") for i in range(ROUND_SHIFT_CLIP_LATENCY - 1)]
        m.d.comb += [right.eq(Mux(self.shift > 0, self.shift, 0)), left.eq(Mux(self.shift < 0, -self.shift, 0))]
        m.d.sync += [
            rounded.eq(self.value + self.round),
            shifted.eq(Mux(self.shift >= 0, rounded >> right, rounded << left)),
            self.out.eq(Mux(shifted < self.lo, self.lo, Mux(shifted > self.hi, self.hi, shifted))),
            valid[0].eq(self.valid), valid[1].eq(valid[0]), self.out_valid.eq(valid[1]),
        ]
        assert len(valid) + 1 == ROUND_SHIFT_CLIP_LATENCY
        return m
