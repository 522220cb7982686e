"""The non-array layers, lane-parallel: bypass add and global average pool.

Both read `lanes` activations per cycle (one per column bank) and requantize
with the same rounding shift and clip as the array's output path, so that
they agree bit for bit with the golden executor's `add` and `global_avg_pool`.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.params import ArrayParams
from firebrick.hw.requantize import max_left_shift, shift_range, shift_round_clip

#: left shifts that align an add's inputs to their common fractional length
MAX_ALIGN_SHIFT = 16
#: bits of the global pool's reciprocal multiplier (quant.quantize.POOL_MULTIPLIER_BITS)
POOL_MULTIPLIER_BITS = 16


class BypassAdd(wiring.Component):
    """out[l] = clip(round_shift((a[l] << align_a) + (b[l] << align_b), shift), lo, hi), one pipeline stage."""

    def __init__(self, params: ArrayParams, lanes: int) -> None:
        self.params, self.lanes = params, lanes
        act = signed(params.lane_act_bits)
        low, high = shift_range(params)
        out_shape = signed(params.lane_act_bits + 1)
        super().__init__({
            "a": In(data.ArrayLayout(act, lanes)),
            "b": In(data.ArrayLayout(act, lanes)),
            "valid": In(1),
            "align_a": In(range(MAX_ALIGN_SHIFT + 1)),
            "align_b": In(range(MAX_ALIGN_SHIFT + 1)),
            "shift": In(range(low, high + 1)),
            "lo": In(out_shape),
            "hi": In(out_shape),
            "out": Out(data.ArrayLayout(out_shape, lanes)),
            "out_valid": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        sum_bits = p.lane_act_bits + MAX_ALIGN_SHIFT + 1
        for lane in range(self.lanes):
            total = Signal(signed(sum_bits), name=f"sum{lane}")
            m.d.comb += total.eq((self.a[lane] << self.align_a) + (self.b[lane] << self.align_b))
            result = shift_round_clip(m, total, self.shift, self.lo, self.hi, value_bits=sum_bits,
                                      max_left=max_left_shift(p), name=f"add{lane}")
            m.d.sync += self.out[lane].eq(result)
        m.d.sync += self.out_valid.eq(self.valid)
        return m


class GlobalPoolUnit(wiring.Component):
    """Sums masked lanes over a channel's pixels; on `last`, out = clip(round_shift(sum * multiplier, shift))."""

    def __init__(self, params: ArrayParams, lanes: int) -> None:
        self.params, self.lanes = params, lanes
        out_shape = signed(params.lane_act_bits + 1)
        super().__init__({
            "x": In(data.ArrayLayout(signed(params.lane_act_bits), lanes)),
            "mask": In(lanes),
            "valid": In(1),
            "last": In(1),
            "multiplier": In(unsigned(POOL_MULTIPLIER_BITS + 1)),
            "shift": In(range(-max_left_shift(params), params.acc_bits + POOL_MULTIPLIER_BITS + 1)),
            "lo": In(out_shape),
            "hi": In(out_shape),
            "out": Out(out_shape),
            "out_valid": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        acc = Signal(signed(p.acc_bits))
        lane_sum = Signal(signed(p.acc_bits))
        m.d.comb += lane_sum.eq(sum((self.x[lane] * self.mask[lane] for lane in range(self.lanes)), 0))
        total = Signal(signed(p.acc_bits))
        m.d.comb += total.eq(acc + lane_sum)
        finished = Signal(signed(p.acc_bits))
        finished_valid = Signal()
        m.d.sync += finished_valid.eq(0)
        with m.If(self.valid):
            with m.If(self.last):
                m.d.sync += [finished.eq(total), finished_valid.eq(1), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(total)
        scaled_bits = p.acc_bits + POOL_MULTIPLIER_BITS + 1
        scaled = Signal(signed(scaled_bits))
        m.d.comb += scaled.eq(finished * self.multiplier)
        result = shift_round_clip(m, scaled, self.shift, self.lo, self.hi, value_bits=scaled_bits,
                                  max_left=max_left_shift(p), name="pool")
        m.d.sync += [self.out.eq(result), self.out_valid.eq(finished_valid)]
        return m
