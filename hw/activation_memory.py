"""The banked activation SRAM with its lane crossbars, pipelined for the clock.

`banks` memories (`RegisteredMemory`: one read port with its data
registered, one write port). Address a lives in bank a mod banks, row a div banks (banks is a
power of two). Each cycle every read lane and every write lane may present an
address; the compiler's layout guarantees that the lanes of one access hit
distinct banks, so a bank takes its address from whichever lane selects it.

Reads (`read`, a `LaneReadPort`): lane addresses presented at cycle t go
through the crossbar into a register at each bank (t), into the block RAM
(t + 1), whose data is registered at t + 2 (its own output register where the
device has one: `block_ram.py`) and routed back to the lanes, visible at t + 3
(`ACTIVATION_READ_LATENCY`). Writes (any number of `LaneWritePort`s, of which
at most one is active in a cycle): registered per lane at t, through the
crossbar into a register at each bank at t + 1, into the block RAM at t + 2,
readable by reads presented from t + 2 (`WRITE_LATENCY`: both paths have the
bank register). `conflict` goes high, and stays high, if two lanes ever
pick one bank in a cycle: a compiler bug, which the tests watch for.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

from firebrick.hw.block_ram import RegisteredMemory
from firebrick.hw.latency import ACTIVATION_READ_LATENCY


class LaneReadPort:
    class Signature(wiring.Signature):
        """A read of `lanes` addresses at once (as the reader sees it); data follows ACTIVATION_READ_LATENCY later."""

        def __init__(self, *, lanes: int, address_bits: int, value_bits: int) -> None:
            self.lanes, self.address_bits, self.value_bits = lanes, address_bits, value_bits
            super().__init__({
                "addr": Out(data.ArrayLayout(unsigned(address_bits), lanes)),
                "en": Out(lanes),
                "data": In(data.ArrayLayout(signed(value_bits), lanes)),
            })


class LaneWritePort:
    class Signature(wiring.Signature):
        """A write of up to `lanes` values at once (as the writer sees it)."""

        def __init__(self, *, lanes: int, address_bits: int, value_bits: int) -> None:
            self.lanes, self.address_bits, self.value_bits = lanes, address_bits, value_bits
            super().__init__({
                "addr": Out(data.ArrayLayout(unsigned(address_bits), lanes)),
                "data": Out(data.ArrayLayout(signed(value_bits), lanes)),
                "en": Out(lanes),
            })


class ActivationMemory(wiring.Component):
    def __init__(self, *, banks: int, depth: int, lanes: int, value_bits: int, address_bits: int,
                 write_ports: tuple[str, ...] = ("write",)) -> None:
        exact_log2(banks)  # raises unless a power of two
        if lanes > banks:
            raise ValueError(f"activation memory lanes ({lanes}) must not exceed its banks ({banks})")
        self.bank_count, self.depth, self.lanes, self.value_bits = banks, depth, lanes, value_bits
        self.address_bits, self.write_port_names = address_bits, write_ports
        self.memories = [RegisteredMemory(width=value_bits, depth=depth) for _ in range(banks)]
        port = dict(lanes=lanes, address_bits=address_bits, value_bits=value_bits)
        super().__init__({
            "read": In(LaneReadPort.Signature(**port)),
            **{name: In(LaneWritePort.Signature(**port)) for name in write_ports},
            "conflict": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes = self.lanes
        bank_bits = exact_log2(self.bank_count)
        row_shape = unsigned(max(ceil_log2(self.depth), 1))
        for b, mem in enumerate(self.memories):
            m.submodules[f"bank{b}"] = mem

        def lane_bank(address):
            return address[:bank_bits] if bank_bits else 0

        # writes: merge the ports (one active at a time), register per lane
        w_addr = Signal(data.ArrayLayout(unsigned(self.address_bits), lanes), reset_less=True)
        w_data = Signal(data.ArrayLayout(signed(self.value_bits), lanes), reset_less=True)
        w_en = Signal(lanes)
        ports = [getattr(self, name) for name in self.write_port_names]
        for lane in range(lanes):
            m.d.sync += [
                w_addr[lane].eq(_or([Mux(p.en[lane], p.addr[lane], 0) for p in ports])),
                w_data[lane].eq(_or([Mux(p.en[lane], p.data[lane].as_unsigned(), 0) for p in ports])),
                w_en[lane].eq(_or([p.en[lane] for p in ports])),
            ]

        conflict = Signal()
        for b in range(self.bank_count):
            read_hits = [self.read.en[lane] & (lane_bank(self.read.addr[lane]) == b) for lane in range(lanes)]
            write_hits = [w_en[lane] & (lane_bank(w_addr[lane]) == b) for lane in range(lanes)]
            read_row = Signal(row_shape, name=f"read_row{b}", reset_less=True)
            write_row = Signal(row_shape, name=f"write_row{b}", reset_less=True)
            write_value = Signal(signed(self.value_bits), name=f"write_value{b}", reset_less=True)
            read_en, write_en = Signal(name=f"read_en{b}"), Signal(name=f"write_en{b}")
            # one-hot by construction: an OR of the selected lane's fields, registered at the bank (the crossbar's
            # long wires end in a register, the register's short ones in the block RAM)
            m.d.sync += [
                read_row.eq(_or([Mux(read_hits[lane], self.read.addr[lane][bank_bits:], 0) for lane in range(lanes)])),
                write_row.eq(_or([Mux(write_hits[lane], w_addr[lane][bank_bits:], 0) for lane in range(lanes)])),
                write_value.eq(_or([Mux(write_hits[lane], w_data[lane].as_unsigned(), 0) for lane in range(lanes)])),
                read_en.eq(_or(read_hits)), write_en.eq(_or(write_hits)),
            ]
            m.d.comb += [
                self.memories[b].read_addr.eq(read_row),
                self.memories[b].read_en.eq(read_en),
                self.memories[b].write_addr.eq(write_row),
                self.memories[b].write_data.eq(write_value),
                self.memories[b].write_en.eq(write_en),
            ]
            with m.If((sum(read_hits, 0) > 1) | (sum(write_hits, 0) > 1)):
                m.d.comb += conflict.eq(1)
        with m.If(conflict):
            m.d.sync += self.conflict.eq(1)

        # read data: registered at each bank's output, then each lane takes its bank's value
        bank_data = [mem.read_data.as_signed() for mem in self.memories]
        for lane in range(lanes):
            selected = lane_bank(self.read.addr[lane])
            for i in range(ACTIVATION_READ_LATENCY):
                delayed = Signal(range(self.bank_count), name=f"selected{lane}_d{i + 1}")
                m.d.sync += delayed.eq(selected)
                selected = delayed
            with m.Switch(selected):
                for b in range(self.bank_count):
                    with m.Case(b):
                        m.d.comb += self.read.data[lane].eq(bank_data[b])
        return m


def _or(values):
    result = values[0]
    for v in values[1:]:
        result = result | v
    return result
