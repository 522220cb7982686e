"""The R x C output-stationary systolic array with its input skew and per-column drain.

Feed it, each cycle, one weight per row (the same reduction step k for all
rows) with the step's control flags, and one activation per column. Weights
and flags move right, activations move down, one PE per cycle. When the last
step of a tile has finished in the bottom PE of a column (PE_LATENCY cycles
after reaching it), the column's finished sums are captured into a shift
chain and leave at the bottom, one per cycle, bottom row first, while the PEs
already accumulate the next tile. Columns are staggered: column c's outputs
come c cycles after column 0's.

Tiles may follow each other without gaps when they are at least `rows` steps
long; `overrun` goes high (and stays) if a capture ever arrives before the
previous drain has finished, which the controller must never allow.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from firebrick.hw.params import ArrayParams
from firebrick.hw.pe import Control, ProcessingElement
from firebrick.hw.skew import SkewBuffer


class SystolicArray(wiring.Component):
    def __init__(self, params: ArrayParams, *, dsp_multipliers: bool = False) -> None:
        """`dsp_multipliers`: each PE's multiplier is a DSP block (see `RegisteredMultiplier`)."""
        self.params, self.dsp_multipliers = params, dsp_multipliers
        rows, cols = params.rows, params.cols
        super().__init__({
            "w": In(data.ArrayLayout(signed(params.weight_bits), rows)),
            "ctl": In(Control),
            "x": In(data.ArrayLayout(signed(params.lane_act_bits), cols)),
            "out": Out(data.ArrayLayout(signed(params.acc_bits), cols)),
            "out_valid": Out(cols),
            "out_row": Out(data.ArrayLayout(unsigned(max(ceil_log2(rows), 1)), cols)),
            "overrun": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        rows, cols = p.rows, p.cols
        lane = data.StructLayout({"w": signed(p.weight_bits), "ctl": Control})
        m.submodules.row_skew = row_skew = SkewBuffer(lane, rows)
        m.submodules.col_skew = col_skew = SkewBuffer(signed(p.lane_act_bits), cols)
        for r in range(rows):
            m.d.comb += [row_skew.i[r].w.eq(self.w[r]), row_skew.i[r].ctl.eq(self.ctl)]
        m.d.comb += col_skew.i.eq(self.x)

        pe = [[ProcessingElement(p, dsp=self.dsp_multipliers) for _ in range(cols)] for _ in range(rows)]
        for r in range(rows):
            for c in range(cols):
                m.submodules[f"pe_{r}_{c}"] = pe[r][c]
                left = (row_skew.o[r].w, row_skew.o[r].ctl) if c == 0 else (pe[r][c - 1].w_out, pe[r][c - 1].ctl_out)
                top = col_skew.o[c] if r == 0 else pe[r - 1][c].x_out
                m.d.comb += [pe[r][c].w_in.eq(left[0]), pe[r][c].ctl_in.eq(left[1]), pe[r][c].x_in.eq(top)]

        for c in range(cols):
            chain = [Signal(signed(p.acc_bits), name=f"chain_{c}_{r}", reset_less=True) for r in range(rows)]
            remaining = Signal(range(rows + 1), name=f"remaining_{c}")
            with m.If(pe[rows - 1][c].done):
                m.d.sync += [chain[r].eq(pe[r][c].hold) for r in range(rows)]
                m.d.sync += remaining.eq(rows)
                with m.If(remaining > 1):
                    m.d.sync += self.overrun.eq(1)
            with m.Elif(remaining != 0):
                m.d.sync += [chain[r].eq(chain[r - 1]) for r in range(1, rows)]
                m.d.sync += remaining.eq(remaining - 1)
            m.d.comb += [
                self.out[c].eq(chain[rows - 1]),
                self.out_valid[c].eq(remaining != 0),
                self.out_row[c].eq(remaining - 1),
            ]
        return m
