"""Codebook decode in front of the array: k-bit weight indices -> weights through a small table.

The table holds one layer's 2**k shared weights; the controller writes it
before the layer starts. Each lane (one per array row) looks up its own index.
"""

from __future__ import annotations

from amaranth import Array, Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class CodebookDecoder(wiring.Component):
    def __init__(self, *, index_bits: int, weight_bits: int, lanes: int) -> None:
        if isinstance(index_bits, bool) or not isinstance(index_bits, int) or not 1 <= index_bits <= 8:
            raise ValueError(f"codebook index bits must be an integer in 1..8, not {index_bits!r}")
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"codebook lanes must be a positive integer, not {lanes!r}")
        self.index_bits, self.weight_bits, self.lanes = index_bits, weight_bits, lanes
        super().__init__({
            "write_enable": In(1),
            "write_index": In(unsigned(index_bits)),
            "write_weight": In(signed(weight_bits)),
            "index": In(data.ArrayLayout(unsigned(index_bits), lanes)),
            "weight": Out(data.ArrayLayout(signed(weight_bits), lanes)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        table = Array(Signal(signed(self.weight_bits), name=f"entry{i}") for i in range(1 << self.index_bits))
        with m.If(self.write_enable):
            m.d.sync += table[self.write_index].eq(self.write_weight)
        for lane in range(self.lanes):
            m.d.comb += self.weight[lane].eq(table[self.index[lane]])
        return m
