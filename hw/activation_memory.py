"""The banked activation SRAM with its lane crossbars, pipelined for the clock.

`banks` memories (Amaranth `lib.memory.Memory`), each with one read and one
write port. Address a lives in bank a mod banks, row a div banks (banks is a
power of two). Each cycle every read lane and every write lane may present an
address; the compiler's layout guarantees that the lanes of one access hit
distinct banks, so a bank takes its address from whichever lane selects it.

Reads (`read`, a `LaneReadPort`): lane addresses presented at cycle t go
through the crossbar into the banks' address registers at t; the banks' data
is registered at t + 1 and routed back to the lanes, visible at t + 2
(`ACTIVATION_READ_LATENCY`). Writes (any number of `LaneWritePort`s, of which
at most one is active in a cycle): registered per lane at t, through the
crossbar into the banks at t + 1, readable by reads presented from t + 2
(`WRITE_LATENCY`). `conflict` goes high, and stays high, if two lanes ever
pick one bank in a cycle: a compiler bug, which the tests watch for.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2


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
        self.memories = [memory.Memory(shape=signed(value_bits), depth=depth, init=[]) for _ in range(banks)]
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
        read_ports, write_ports = [], []
        for b, mem in enumerate(self.memories):
            m.submodules[f"bank{b}"] = mem
            read_ports.append(mem.read_port())
            write_ports.append(mem.write_port())

        def lane_bank(address):
            return address[:bank_bits] if bank_bits else 0

        # writes: merge the ports (one active at a time), register per lane
        w_addr = Signal(data.ArrayLayout(unsigned(self.address_bits), lanes))
        w_data = Signal(data.ArrayLayout(signed(self.value_bits), lanes))
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
            read_row = Signal(row_shape, name=f"read_row{b}")
            write_row = Signal(row_shape, name=f"write_row{b}")
            write_value = Signal(signed(self.value_bits), name=f"write_value{b}")
            # one-hot by construction: an OR of the selected lane's fields
            m.d.comb += [
                read_row.eq(_or([Mux(read_hits[lane], self.read.addr[lane][bank_bits:], 0) for lane in range(lanes)])),
                write_row.eq(_or([Mux(write_hits[lane], w_addr[lane][bank_bits:], 0) for lane in range(lanes)])),
                write_value.eq(_or([Mux(write_hits[lane], w_data[lane].as_unsigned(), 0) for lane in range(lanes)])),
                read_ports[b].addr.eq(read_row),
                read_ports[b].en.eq(_or(read_hits)),
                write_ports[b].addr.eq(write_row),
                write_ports[b].data.eq(write_value),
                write_ports[b].en.eq(_or(write_hits)),
            ]
            with m.If((sum(read_hits, 0) > 1) | (sum(write_hits, 0) > 1)):
                m.d.comb += conflict.eq(1)
        with m.If(conflict):
            m.d.sync += self.conflict.eq(1)

        # read data: a register after each bank, then each lane takes its bank's value
        bank_data = [Signal(signed(self.value_bits), name=f"bank_data{b}") for b in range(self.bank_count)]
        for b in range(self.bank_count):
            m.d.sync += bank_data[b].eq(read_ports[b].data)
        for lane in range(lanes):
            selected = [Signal(range(self.bank_count), name=f"selected{lane}_d{i}") for i in (1, 2)]
            m.d.sync += [selected[0].eq(lane_bank(self.read.addr[lane])), selected[1].eq(selected[0])]
            with m.Switch(selected[1]):
                for b in range(self.bank_count):
                    with m.Case(b):
                        m.d.comb += self.read.data[lane].eq(bank_data[b])
        return m


def _or(values):
    result = values[0]
    for v in values[1:]:
        result = result | v
    return result
