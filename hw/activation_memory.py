"""The banked activation SRAM with its lane crossbars.

`banks` memories (Amaranth `lib.memory.Memory`), each with one read and one
write port. Address a lives in bank a mod banks, row a div banks (banks is a
power of two). Each cycle every read lane and every write lane may present an
address; the compiler's layout guarantees that the lanes of one access hit
distinct banks, so a bank takes its address from whichever lane selects it.
Read data reaches its lane one cycle after the address (the SRAM's read
latency). `conflict` goes high, and stays high, if two lanes ever pick one
bank in a cycle: a compiler bug, which the tests watch for.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

from firebrick.hw.raster_lanes import ADDRESS_BITS


class ActivationMemory(wiring.Component):
    def __init__(self, *, banks: int, depth: int, lanes: int, value_bits: int) -> None:
        exact_log2(banks)  # raises unless a power of two
        if lanes > banks:
            raise ValueError(f"activation memory lanes ({lanes}) must not exceed its banks ({banks})")
        self.bank_count, self.depth, self.lanes, self.value_bits = banks, depth, lanes, value_bits
        self.memories = [memory.Memory(shape=signed(value_bits), depth=depth, init=[]) for _ in range(banks)]
        address = unsigned(ADDRESS_BITS)
        value = signed(value_bits)
        super().__init__({
            "read_address": In(data.ArrayLayout(address, lanes)),
            "read_enable": In(lanes),
            "read_data": Out(data.ArrayLayout(value, lanes)),
            "write_address": In(data.ArrayLayout(address, lanes)),
            "write_data": In(data.ArrayLayout(value, lanes)),
            "write_enable": In(lanes),
            "conflict": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        bank_bits = exact_log2(self.bank_count)
        row_shape = unsigned(max(ceil_log2(self.depth), 1))
        read_ports, write_ports = [], []
        for b, mem in enumerate(self.memories):
            m.submodules[f"bank{b}"] = mem
            read_ports.append(mem.read_port())
            write_ports.append(mem.write_port())

        def lane_bank(address):
            return address[:bank_bits] if bank_bits else 0

        conflict = Signal()
        for b in range(self.bank_count):
            read_hits = [self.read_enable[lane] & (lane_bank(self.read_address[lane]) == b) for lane in range(self.lanes)]
            write_hits = [self.write_enable[lane] & (lane_bank(self.write_address[lane]) == b) for lane in range(self.lanes)]
            read_row = Signal(row_shape, name=f"read_row{b}")
            write_row = Signal(row_shape, name=f"write_row{b}")
            write_value = Signal(signed(self.value_bits), name=f"write_value{b}")
            for lane in range(self.lanes):  # one-hot by construction: an OR of the selected lane
                with m.If(read_hits[lane]):
                    m.d.comb += read_row.eq(self.read_address[lane][bank_bits:])
                with m.If(write_hits[lane]):
                    m.d.comb += [write_row.eq(self.write_address[lane][bank_bits:]), write_value.eq(self.write_data[lane])]
            m.d.comb += [
                read_ports[b].addr.eq(read_row),
                read_ports[b].en.eq(sum(read_hits, 0) != 0),
                write_ports[b].addr.eq(write_row),
                write_ports[b].data.eq(write_value),
                write_ports[b].en.eq(sum(write_hits, 0) != 0),
            ]
            with m.If((sum(read_hits, 0) > 1) | (sum(write_hits, 0) > 1)):
                m.d.comb += conflict.eq(1)
        with m.If(conflict):
            m.d.sync += self.conflict.eq(1)

        for lane in range(self.lanes):
            selected = Signal(range(self.bank_count), name=f"selected{lane}")
            m.d.sync += selected.eq(lane_bank(self.read_address[lane]))
            with m.Switch(selected):
                for b in range(self.bank_count):
                    with m.Case(b):
                        m.d.comb += self.read_data[lane].eq(read_ports[b].data)
        return m
