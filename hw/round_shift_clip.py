"""The requantizer core, pipelined: clip(round_half_up(value * 2**-shift), lo, hi), as `fixed_point.requantize`.

Three register stages (`ROUND_SHIFT_CLIP_LATENCY`): add the layer's rounding
constant (the compiler's 2**(shift - 1) for a right shift, 0 otherwise), shift
(right: arithmetic; left, for a negative shift: exact), clip to [lo, hi]. ReLU
is the clip with lo = 0. The clip compares only `out_bits` bits: a shifted
value whose upper bits are not all copies of its sign cannot fit the output
and saturates to the bound on its side (lo and hi fit the output), one that
fits is compared in its low bits; so no carry chain as wide as the datapath
stands between two registers. The shift, rounding constant and bounds are the
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
    def __init__(self, *, value_bits: int, max_right: int, max_left: int, out_bits: int, shift_shape) -> None:
        self.value_bits, self.max_right, self.max_left, self.out_bits = value_bits, max_right, max_left, out_bits
        out = signed(out_bits)
        super().__init__({
            "value": In(signed(value_bits)),
            "valid": In(1),
            "shift": In(shift_shape),
            # 2**(shift - 1) for shifts up to max_right: max_right bits (the step's field is wider, for the pool)
            "round": In(unsigned(max(max_right, 1))),
            "lo": In(out),
            "hi": In(out),
            "out": Out(out),
            "out_valid": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        rounded = Signal(signed(max(self.value_bits, len(self.round) + 1) + 1), reset_less=True)  # no wrap: the executor rounds exactly
        shifted = Signal(signed(len(rounded) + self.max_left), reset_less=True)
        # the shift, decoded and registered here: it is the layer's (steady for the step), and a copy per unit
        # keeps the wide fan-out of the barrel shifter's selects off the descriptor's register. The copy follows
        # the layer's while no value is in flight (a step's values start long after its first cycle), which also
        # keeps synthesis from merging the copies of different units into one register again.
        right = Signal(range(self.max_right + 1))
        left = Signal(range(self.max_left + 1))
        rightwards = Signal()
        valid = [Signal(name=f"valid_d{i}") for i in range(ROUND_SHIFT_CLIP_LATENCY - 1)]
        with m.If(~self.valid):
            m.d.sync += [right.eq(Mux(self.shift > 0, self.shift, 0)), left.eq(Mux(self.shift < 0, -self.shift, 0)),
                         rightwards.eq(self.shift >= 0)]
        k = self.out_bits
        upper = shifted[k - 1:]  # the output's sign bit and everything above it
        fits = Signal()
        low = Signal(signed(k))
        m.d.comb += [fits.eq((upper == 0) | (upper == (1 << len(upper)) - 1)), low.eq(shifted[:k])]
        clipped = Mux(low < self.lo, self.lo, Mux(low > self.hi, self.hi, low))
        m.d.sync += [
            rounded.eq(self.value + self.round),
            shifted.eq(Mux(rightwards, rounded >> right, rounded << left)),
            self.out.eq(Mux(fits, clipped, Mux(shifted[-1], self.lo, self.hi))),
            valid[0].eq(self.valid), valid[1].eq(valid[0]), self.out_valid.eq(valid[1]),
        ]
        assert len(valid) + 1 == ROUND_SHIFT_CLIP_LATENCY
        return m
