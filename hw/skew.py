"""Triangular delay lines: lane i of a vector leaves i cycles after it entered.

The array is fed whole vectors (every row's weight, every column's activation
for one reduction step), which is what banked memories deliver; the skew turns
them into the diagonal wavefront a systolic array needs.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class SkewBuffer(wiring.Component):
    def __init__(self, lane_shape, lanes: int) -> None:
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"skew lanes must be a positive integer, not {lanes!r}")
        self.lane_shape = lane_shape
        self.lanes = lanes
        layout = data.ArrayLayout(lane_shape, lanes)
        super().__init__({"i": In(layout), "o": Out(layout)})

    def elaborate(self, platform) -> Module:
        m = Module()
        for lane in range(self.lanes):
            value = self.i[lane]
            for stage in range(lane):
                delayed = Signal(self.lane_shape, name=f"lane{lane}_d{stage + 1}")
                m.d.sync += delayed.eq(value)
                value = delayed
            m.d.comb += self.o[lane].eq(value)
        return m
