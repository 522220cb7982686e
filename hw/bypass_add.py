"""Bypass add, lane-parallel: out = clip(round_shift((a << align_a) + (b << align_b), shift), lo, hi).

The controller reads one group of `lanes` pixels of the first input, then the
same group of the second (`RASTER_A`, then `RASTER_B`); their lanes arrive on
`operands` FETCH_LATENCY cycles later, tagged. The first is held one cycle,
both are aligned to their common fractional length, summed, and requantized
(`RoundShiftClip`), ADD_LATENCY cycles after the second arrived, and written
at the output walker's lanes, which the controller runs that much behind the
reads (`ADD_WRITE_DELAY`).
"""

from __future__ import annotations

from amaranth import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.activation_memory import LaneWritePort
from firebrick.hw.latency import ADD_LATENCY, ROUND_SHIFT_CLIP_LATENCY
from firebrick.hw.operand_fetch import operand_layout
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import MAX_ALIGN_SHIFT, ProgramWidths, requant_shift_range
from firebrick.hw.requantize import conv_shift_range
from firebrick.hw.round_shift_clip import RoundShiftClip


def bypass_add(a: int, b: int, align_a: int, align_b: int, shift: int, lo: int, hi: int) -> int:
    """Reference model of one lane."""
    from firebrick.hw.round_shift_clip import round_shift_clip

    return round_shift_clip((a << align_a) + (b << align_b), shift, lo, hi)


class BypassAdd(wiring.Component):
    def __init__(self, params: ArrayParams, widths: ProgramWidths) -> None:
        self.params, self.widths = params, widths
        lanes = params.cols
        address = signed(widths.address + 1)
        value = signed(params.lane_act_bits + 1)
        low, high = requant_shift_range(params)
        super().__init__({
            "operands": In(stream.Signature(operand_layout(lanes, params.lane_act_bits), always_ready=True)),
            # the output walker's lanes as the result is ready
            "positions": In(data.ArrayLayout(address, lanes)),
            "lane_valid": In(lanes),
            "align_a": In(range(MAX_ALIGN_SHIFT + 1)),
            "align_b": In(range(MAX_ALIGN_SHIFT + 1)),
            "shift": In(signed(max(high.bit_length(), (-low).bit_length()) + 1)),
            "round": In(range(1 << (high + 1))),
            "lo": In(value),
            "hi": In(value),
            "write": Out(LaneWritePort.Signature(lanes=lanes, address_bits=widths.address, value_bits=params.lane_act_bits)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        lanes = p.cols
        low, high = conv_shift_range(p)
        sum_bits = p.lane_act_bits + MAX_ALIGN_SHIFT + 1
        x, tag = self.operands.payload.x, self.operands.payload.tag

        held = Signal(data.ArrayLayout(signed(p.lane_act_bits), lanes), reset_less=True)
        with m.If(self.operands.valid & tag.add_a):
            m.d.sync += held.eq(x)
        arrived = self.operands.valid & tag.add_b

        # stage 1: aligned inputs; stage 2: their sum
        stage_valid = [Signal(name=f"valid_s{i}") for i in (1, 2)]
        m.d.sync += [stage_valid[0].eq(arrived), stage_valid[1].eq(stage_valid[0])]
        results = []
        for lane in range(lanes):
            aligned_a = Signal(signed(sum_bits), name=f"aligned_a{lane}", reset_less=True)
            aligned_b = Signal(signed(sum_bits), name=f"aligned_b{lane}", reset_less=True)
            total = Signal(signed(sum_bits), name=f"sum{lane}", reset_less=True)
            m.d.sync += [aligned_a.eq(held[lane] << self.align_a), aligned_b.eq(x[lane] << self.align_b),
                         total.eq(aligned_a + aligned_b)]
            m.submodules[f"requant{lane}"] = requant = RoundShiftClip(
                value_bits=sum_bits, max_right=high, max_left=-low, out_bits=p.lane_act_bits + 1,
                shift_shape=self.shift.shape())
            m.d.comb += [requant.value.eq(total), requant.valid.eq(stage_valid[1]), requant.shift.eq(self.shift),
                         requant.round.eq(self.round), requant.lo.eq(self.lo), requant.hi.eq(self.hi)]
            results.append(requant)
        for lane, requant in enumerate(results):
            m.d.comb += [
                self.write.addr[lane].eq(self.positions[lane]), self.write.data[lane].eq(requant.out),
                self.write.en[lane].eq(requant.out_valid & self.lane_valid[lane]),
            ]
        assert 2 + ROUND_SHIFT_CLIP_LATENCY == ADD_LATENCY
        return m
