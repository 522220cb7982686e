"""The banked activation SRAM with its lane crossbars, pipelined for the clock.

`banks` memories (`RegisteredMemory`: one read port with its data
registered, one write port). Address a lives in bank a mod banks, row a div banks (banks is a
power of two). Each cycle every read lane and every write lane may present an
address; the compiler's layout guarantees that the lanes of one access hit
distinct banks, so a bank takes its address from whichever lane selects it.

Only a few bits per lane cross the crossbar: the lanes of one access lie
close together (raster order), so an access is one base row, broadcast, and
per lane a bank and a small row offset (`split_lanes`); each bank adds its
lane's offset to the base. Reads (`read`, a `LaneReadPort`): lane addresses
presented at cycle t go through the crossbar into a register at each bank (t), into the block RAM
(t + 1), whose data is registered at t + 2 (its own output register where the
device has one: `block_ram.py`) and routed back to the lanes through two
levels of selection with a register between, visible at t + 4
(`ACTIVATION_READ_LATENCY`). Writes (any number of `LaneWritePort`s, of which
at most one is active in a cycle): registered per lane at t, through the
crossbar into a register at each bank at t + 1, into the block RAM at t + 2,
readable by reads presented from t + 2 (`WRITE_LATENCY`: both paths have the
bank register). `conflict` goes high, and stays high, if two lanes ever
pick one bank in a cycle: a compiler bug, which the tests watch for.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

from firebrick.hw.block_ram import RegisteredMemory
from firebrick.hw.latency import ACTIVATION_READ_LATENCY


def split_lanes(m: Module, addresses, *, bank_bits: int, offset_bits: int, name: str):
    """Lane addresses as one base row and, per lane, a bank and a row offset from it (combinational).

    Lane c's address is lane 0's plus a distance d_c >= 0 (lanes walk in raster order); its bank and row are
    those of (lane 0's address mod banks) + d_c, counted from lane 0's row. The compiler bounds the row
    offsets of every lane on the map (`ProgramWidths.row_offset`), so only `offset_bits` travel per lane.
    """
    distances = []
    for c, address in enumerate(addresses):
        distance = Signal(bank_bits + offset_bits, name=f"{name}_distance{c}")
        m.d.comb += distance.eq(address - addresses[0])
        distances.append(distance)
    return split_distances(m, addresses[0], distances, bank_bits=bank_bits, offset_bits=offset_bits, name=name)


def split_distances(m: Module, first, distances, *, bank_bits: int, offset_bits: int, name: str):
    """`split_lanes` from lane 0's address and each lane's distance from it."""
    base = Signal(signed(len(first) + 1 - bank_bits), name=f"{name}_base")
    m.d.comb += base.eq(first.as_signed() >> bank_bits)
    lanes = []
    for c, distance in enumerate(distances):
        where = Signal(bank_bits + offset_bits, name=f"{name}_where{c}")
        m.d.comb += where.eq(first[:bank_bits] + distance)
        lanes.append((where[:bank_bits], where[bank_bits:]))
    return base, lanes


class LaneReadPort:
    class Signature(wiring.Signature):
        """A read of `lanes` addresses at once (as the reader sees it), as a base row and per lane a bank and a row
        offset (`split_lanes`); data follows ACTIVATION_READ_LATENCY later. `select` is per lane its bank one-hot,
        zero where the lane is off (`bank_select`): each bank's choice of lane is then an AND-OR of register bits."""

        def __init__(self, *, lanes: int, address_bits: int, value_bits: int, bank_bits: int, offset_bits: int) -> None:
            self.lanes, self.address_bits, self.value_bits = lanes, address_bits, value_bits
            super().__init__({
                "base": Out(signed(address_bits + 1 - bank_bits)),
                "bank": Out(data.ArrayLayout(unsigned(max(bank_bits, 1)), lanes)),
                "select": Out(data.ArrayLayout(unsigned(1 << bank_bits), lanes)),
                "offset": Out(data.ArrayLayout(unsigned(offset_bits), lanes)),
                "en": Out(lanes),
                "data": In(data.ArrayLayout(signed(value_bits), lanes)),
            })


def bank_select(bank, enabled, banks: int):
    """A lane's bank as `banks` one-hot bits, all zero unless `enabled` (decoded beside the lane, before its register)."""
    return Cat(*(enabled & (bank == b) for b in range(banks)))


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
    def __init__(self, *, banks: int, depth: int, lanes: int, value_bits: int, address_bits: int, offset_bits: int,
                 write_ports: tuple[str, ...] = ("write",), ram_styles: tuple[str | None, ...] = ()) -> None:
        """`ram_styles`: per bank, the kind of RAM it asks synthesis for (block_ram.ram_style; None or missing: no attribute)."""
        exact_log2(banks)  # raises unless a power of two
        if lanes > banks:
            raise ValueError(f"activation memory lanes ({lanes}) must not exceed its banks ({banks})")
        self.bank_count, self.depth, self.lanes, self.value_bits = banks, depth, lanes, value_bits
        self.address_bits, self.offset_bits, self.write_port_names = address_bits, offset_bits, write_ports
        styles = tuple(ram_styles) + (None,) * (banks - len(ram_styles))
        self.memories = [RegisteredMemory(width=value_bits, depth=depth, ram_style=styles[b]) for b in range(banks)]
        port = dict(lanes=lanes, address_bits=address_bits, value_bits=value_bits)
        super().__init__({
            "read": In(LaneReadPort.Signature(**port, bank_bits=exact_log2(banks), offset_bits=offset_bits)),
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

        # writes: merge the ports (one active at a time; an inactive one still shows its lanes' addresses, so lane
        # 0's is the base even where it writes nothing), split into base row, banks and offsets, register per lane
        ports = [getattr(self, name) for name in self.write_port_names]
        active = [Signal(name=f"port_active{i}") for i in range(len(ports))]
        merged = [Signal(unsigned(self.address_bits), name=f"merged_address{lane}") for lane in range(lanes)]
        for i, p in enumerate(ports):
            m.d.comb += active[i].eq(p.en != 0)
        for lane in range(lanes):
            m.d.comb += merged[lane].eq(_or([Mux(active[i], p.addr[lane], 0) for i, p in enumerate(ports)]))
        w_base_now, w_split = split_lanes(m, merged, bank_bits=bank_bits, offset_bits=self.offset_bits, name="write")
        w_base = Signal.like(w_base_now, reset_less=True)
        # per lane the bank it writes, one-hot and registered: each bank's choice is then an AND-OR of registers
        # (decoding a bank number at every bank put a compare and its fan-out on the critical path)
        w_hit = [Signal(self.bank_count, name=f"write_hit{lane}") for lane in range(lanes)]
        w_offset = Signal(data.ArrayLayout(unsigned(self.offset_bits), lanes), reset_less=True)
        w_data = Signal(data.ArrayLayout(signed(self.value_bits), lanes), reset_less=True)
        m.d.sync += w_base.eq(w_base_now)
        for lane in range(lanes):
            enabled = _or([p.en[lane] for p in ports])
            bank = w_split[lane][0]
            m.d.sync += [
                w_hit[lane].eq(bank_select(bank, enabled, self.bank_count)), w_offset[lane].eq(w_split[lane][1]),
                w_data[lane].eq(_or([Mux(p.en[lane], p.data[lane].as_unsigned(), 0) for p in ports])),
            ]

        conflict = Signal()
        for b in range(self.bank_count):
            read_hits = [self.read.select[lane][b] for lane in range(lanes)]
            write_hits = [w_hit[lane][b] for lane in range(lanes)]
            read_row = Signal(row_shape, name=f"read_row{b}", reset_less=True)
            write_row = Signal(row_shape, name=f"write_row{b}", reset_less=True)
            write_value = Signal(signed(self.value_bits), name=f"write_value{b}", reset_less=True)
            read_en, write_en = Signal(name=f"read_en{b}"), Signal(name=f"write_en{b}")
            # one-hot by construction: an OR of the selected lane's fields, registered at the bank (the crossbar's
            # long wires end in a register, the register's short ones in the block RAM)
            m.d.sync += [
                read_row.eq(self.read.base + _or([Mux(read_hits[lane], self.read.offset[lane], 0) for lane in range(lanes)])),
                write_row.eq(w_base + _or([Mux(write_hits[lane], w_offset[lane], 0) for lane in range(lanes)])),
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

        # read data: registered at each bank's output; then in two levels, with a register between, so that
        # only a group's choice (not every bank's value) travels to each lane: per lane and group of
        # GROUP_BANKS banks, the lane's bank if it is in the group; then the lane's group
        bank_data = [mem.read_data.as_signed() for mem in self.memories]
        group = min(GROUP_BANKS, self.bank_count)
        groups = self.bank_count // group
        for lane in range(lanes):
            selected = self.read.bank[lane]
            delays = []
            for i in range(ACTIVATION_READ_LATENCY):
                delayed = Signal(range(self.bank_count), name=f"selected{lane}_d{i + 1}")
                m.d.sync += delayed.eq(selected)
                delays.append(delayed)
                selected = delayed
            in_group, which_group = delays[-2][:exact_log2(group)], delays[-1][exact_log2(group):]
            partial = [Signal(signed(self.value_bits), name=f"lane{lane}_group{g}", reset_less=True) for g in range(groups)]
            for g in range(groups):
                with m.Switch(in_group):
                    for k in range(group):
                        with m.Case(k):
                            m.d.sync += partial[g].eq(bank_data[g * group + k])
            if groups == 1:
                m.d.comb += self.read.data[lane].eq(partial[0])
            else:
                with m.Switch(which_group):
                    for g in range(groups):
                        with m.Case(g):
                            m.d.comb += self.read.data[lane].eq(partial[g])
        return m


#: banks whose read data one lane selects among before the register of the second level
GROUP_BANKS = 4


def _or(values):
    result = values[0]
    for v in values[1:]:
        result = result | v
    return result
