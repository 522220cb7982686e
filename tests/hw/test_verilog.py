"""The Verilog: a memory without contents carries no zero fill; one with contents (zeros included) keeps them."""

import re

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.block_ram import RegisteredMemory
from firebrick.hw.verilog import component_verilog


class TwoMemories(wiring.Component):
    """A scratch memory (written before read) and a table of zeros that is its contents."""

    def __init__(self):
        super().__init__({"addr": In(4), "data": In(8), "we": In(1), "scratch": Out(8), "table": Out(8)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.scratch = scratch = RegisteredMemory(width=8, depth=16)
        m.submodules.table = table = RegisteredMemory(width=8, depth=16, init=[0] * 15 + [7], writable=False)
        m.d.comb += [scratch.write_addr.eq(self.addr), scratch.write_data.eq(self.data), scratch.write_en.eq(self.we),
                     scratch.read_addr.eq(self.addr), table.read_addr.eq(self.addr),
                     self.scratch.eq(scratch.read_data), self.table.eq(table.read_data)]
        return m


def test_only_memories_with_contents_are_initialised():
    text = component_verilog(TwoMemories(), "two_memories")
    fills = re.findall(r"(\w+)\[(\d+)\] = 8'h([0-9a-f]+);", text)
    # the table's 16 words, its zeros included; nothing for the scratch memory
    assert sorted((int(i), v) for _, i, v in fills) == [(k, "00") for k in range(15)] + [(15, "07")]
    assert "module two_memories" in text
