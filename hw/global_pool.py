"""The final global average pool, lane-parallel: per channel, score = clip(round_shift(sum * multiplier, shift)).

The controller reads one channel `lanes` pixels per cycle (`RASTER_A`, tagged
`pool.valid`, the channel's last group `pool.last`); the fetch has already
zeroed the lanes beyond the map. The lanes are summed (registered), added to
the channel's running sum, and on the last group the sum is scaled by the
reciprocal multiplier of 1/(H*W) in two registered halves (each fits one
18x18 multiplier) and requantized: the score is ready POOL_LATENCY cycles
after the channel's last lanes arrived.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.latency import POOL_LATENCY, ROUND_SHIFT_CLIP_LATENCY
from firebrick.hw.operand_fetch import operand_layout
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import POOL_MULTIPLIER_BITS, requant_shift_range
from firebrick.hw.requantize import max_left_shift
from firebrick.hw.round_shift_clip import RoundShiftClip

#: the low part of the channel sum multiplied on its own (unsigned, so that it fits an 18-bit signed input)
LOW_BITS = 17


def global_pool_score(values, multiplier: int, shift: int, lo: int, hi: int) -> int:
    """Reference model of one channel."""
    from firebrick.hw.round_shift_clip import round_shift_clip

    return round_shift_clip(int(sum(int(v) for v in values)) * multiplier, shift, lo, hi)


class GlobalPool(wiring.Component):
    def __init__(self, params: ArrayParams) -> None:
        self.params = params
        out = signed(params.lane_act_bits + 1)
        low, high = requant_shift_range(params)
        super().__init__({
            "operands": In(stream.Signature(operand_layout(params.cols, params.lane_act_bits), always_ready=True)),
            "multiplier": In(unsigned(POOL_MULTIPLIER_BITS + 1)),
            "shift": In(signed(max(high.bit_length(), (-low).bit_length()) + 1)),
            "round": In(unsigned(high + 1)),
            "lo": In(out),
            "hi": In(out),
            "score": Out(out),
            "score_valid": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        lanes = p.cols
        x, tag = self.operands.payload.x, self.operands.payload.tag
        low, high = requant_shift_range(p)

        # stage 1: the lanes' sum
        lane_sum = Signal(signed(p.lane_act_bits + lanes.bit_length()), reset_less=True)
        valid, last = Signal(), Signal()
        m.d.sync += [lane_sum.eq(sum((x[lane] for lane in range(lanes)), 0)),
                     valid.eq(self.operands.valid & tag.pool.valid), last.eq(tag.pool.last)]
        # stage 2: the channel's sum (wrapping at the accumulator's width)
        acc = Signal(signed(p.acc_bits))
        finished = Signal(signed(p.acc_bits), reset_less=True)
        finished_valid = Signal()
        m.d.sync += finished_valid.eq(0)
        with m.If(valid):
            with m.If(last):
                m.d.sync += [finished.eq(acc + lane_sum), finished_valid.eq(1), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(acc + lane_sum)
        # stages 3 and 4: sum * multiplier in two halves, then their sum
        low_part = Signal(unsigned(LOW_BITS + POOL_MULTIPLIER_BITS + 1), reset_less=True)
        high_part = Signal(signed(max(p.acc_bits - LOW_BITS, 1) + POOL_MULTIPLIER_BITS + 2), reset_less=True)
        scaled = Signal(signed(p.acc_bits + POOL_MULTIPLIER_BITS + 1), reset_less=True)
        scaled_valid = [Signal(name=f"scaled_valid{i}") for i in (3, 4)]
        m.d.sync += [
            low_part.eq(finished[:LOW_BITS] * self.multiplier),
            high_part.eq((finished[LOW_BITS:].as_signed() if p.acc_bits > LOW_BITS else 0) * self.multiplier),
            scaled.eq((high_part << LOW_BITS) + low_part),
            scaled_valid[0].eq(finished_valid), scaled_valid[1].eq(scaled_valid[0]),
        ]
        m.submodules.requant = requant = RoundShiftClip(
            value_bits=len(scaled), max_right=high, max_left=max_left_shift(p), out_bits=p.lane_act_bits + 1,
                shift_shape=self.shift.shape())
        m.d.comb += [requant.value.eq(scaled), requant.valid.eq(scaled_valid[1]), requant.shift.eq(self.shift),
                     requant.round.eq(self.round), requant.lo.eq(self.lo), requant.hi.eq(self.hi),
                     self.score.eq(requant.out), self.score_valid.eq(requant.out_valid)]
        assert 4 + ROUND_SHIFT_CLIP_LATENCY == POOL_LATENCY
        return m
