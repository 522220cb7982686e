"""Operand fetch: lane addresses and border masks for each command, the SRAM read, and the masked lanes.

Each cycle the controller gives one `FetchCommand`:

- `WINDOW`: a conv reduction step: lane c reads its window's tap, at the
  fetch walker's origin + `offset`; a tap outside the input map (row0 + dy,
  col0 + dx beyond its borders) or a lane beyond the output map reads zero;
- `RASTER_A` / `RASTER_B`: lane c reads the fetch (b) walker's pixel as it is
  (pool, bypass add, one channel of `cols` pixels);
- `DEBUG`: lane c reads `debug_address` + c: `lanes` consecutive words, each in
  its own bank (the read-back of a layer, a bank-wide word a cycle).

The lane addresses and masks are registered (cycle t + 1), read from the
banked SRAM (`ACTIVATION_READ_LATENCY`), masked and registered again: the
lanes, with the command's `tag` carried alongside, are visible at
t + FETCH_LATENCY on `operands`.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from firebrick.hw.activation_memory import LaneReadPort, bank_select, split_distances
from firebrick.hw.latency import ACTIVATION_READ_LATENCY, FETCH_LATENCY
from firebrick.hw.pe import Control
from firebrick.hw.program import ProgramWidths
from firebrick.hw.raster_lanes import LanePositions


class FetchKind(enum.Enum, shape=3):
    NONE = 0
    WINDOW = 1
    RASTER_A = 2
    RASTER_B = 3
    DEBUG = 4


#: what travels with a fetch to whoever consumes its lanes
OperandTag = data.StructLayout({
    "conv": Control,                          # the array's control for this reduction step
    "pool": data.StructLayout({"valid": 1, "last": 1}),
    "add_a": 1, "add_b": 1,                   # the first / second input of a bypass add
})


def fetch_command_layout(widths: ProgramWidths) -> data.StructLayout:
    return data.StructLayout({
        "kind": FetchKind, "offset": signed(widths.address + 1), "dy": unsigned(2), "dx": unsigned(2), "tag": OperandTag,
    })


def operand_layout(lanes: int, value_bits: int) -> data.StructLayout:
    return data.StructLayout({"x": data.ArrayLayout(signed(value_bits), lanes), "tag": OperandTag})


def window_lanes(origins, rows, cols, valid, offset: int, dy: int, dx: int, height: int, width: int):
    """Reference model: (address, enabled) per lane of one WINDOW command."""
    return [(o + offset, bool(v) and 0 <= r + dy < height and 0 <= c + dx < width)
            for o, r, c, v in zip(origins, rows, cols, valid)]


class OperandFetch(wiring.Component):
    def __init__(self, *, lanes: int, value_bits: int, widths: ProgramWidths, banks: int) -> None:
        self.lanes, self.value_bits, self.widths, self.banks = lanes, value_bits, widths, banks
        positions = LanePositions.Signature(lanes=lanes, widths=widths)
        super().__init__({
            "command": In(fetch_command_layout(widths)),
            "a": In(positions),
            "b": In(positions),
            "in_height": In(unsigned(widths.coord)),
            "in_width": In(unsigned(widths.coord)),
            "debug_address": In(unsigned(widths.address)),
            "read": Out(LaneReadPort.Signature(lanes=lanes, address_bits=widths.address, value_bits=value_bits,
                                               bank_bits=exact_log2(banks), offset_bits=widths.row_offset)),
            "operands": Out(stream.Signature(operand_layout(lanes, value_bits), always_ready=True)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes, w = self.lanes, self.widths
        cmd = self.command
        coordinate = signed(w.coord + 3)

        # stage 0: per-lane enable, and the access as lane 0's address plus each lane's distance from it, registered
        # as the memory takes it: base row, per-lane bank and row offset (`split_lanes`)
        bank_bits = exact_log2(self.banks)
        span = bank_bits + w.row_offset
        address = signed(w.address + 1)
        first = Signal(address)
        distances = [Signal(span, name=f"distance{c}") for c in range(lanes)]
        enables = Signal(lanes)
        for c in range(lanes):
            row = Signal(coordinate, name=f"row{c}")
            col = Signal(coordinate, name=f"col{c}")
            inside = Signal(name=f"inside{c}")
            m.d.comb += [
                row.eq(self.a.row0[c] + cmd.dy),
                col.eq(self.a.col0[c] + cmd.dx),
                inside.eq(self.a.valid[c] & (row >= 0) & (row < self.in_height) & (col >= 0) & (col < self.in_width)),
            ]
            with m.Switch(cmd.kind):
                with m.Case(FetchKind.WINDOW):
                    m.d.comb += [distances[c].eq(self.a.origin[c] - self.a.origin[0]), enables[c].eq(inside)]
                with m.Case(FetchKind.RASTER_A):
                    m.d.comb += [distances[c].eq(self.a.origin[c] - self.a.origin[0]), enables[c].eq(self.a.valid[c])]
                with m.Case(FetchKind.RASTER_B):
                    m.d.comb += [distances[c].eq(self.b.origin[c] - self.b.origin[0]), enables[c].eq(self.b.valid[c])]
                with m.Case(FetchKind.DEBUG):
                    m.d.comb += [distances[c].eq(c), enables[c].eq(1)]
        with m.Switch(cmd.kind):
            with m.Case(FetchKind.WINDOW):
                m.d.comb += first.eq(self.a.origin[0] + cmd.offset)
            with m.Case(FetchKind.RASTER_A):
                m.d.comb += first.eq(self.a.origin[0])
            with m.Case(FetchKind.RASTER_B):
                m.d.comb += first.eq(self.b.origin[0])
            with m.Case(FetchKind.DEBUG):
                m.d.comb += first.eq(self.debug_address)
        base, split = split_distances(m, first, distances, bank_bits=bank_bits, offset_bits=w.row_offset, name="read")
        m.d.sync += [self.read.base.eq(base), self.read.en.eq(enables)]
        for c in range(lanes):
            m.d.sync += [self.read.bank[c].eq(split[c][0]), self.read.offset[c].eq(split[c][1]),
                         self.read.select[c].eq(bank_select(split[c][0], enables[c], self.banks))]

        # the tag, valid and lane enables travel with the read through the SRAM's latency
        tag = Signal(OperandTag)
        busy = Signal()
        m.d.sync += [tag.eq(cmd.tag), busy.eq(cmd.kind != FetchKind.NONE)]
        enables, tags, busies = self.read.en, tag, busy
        for i in range(ACTIVATION_READ_LATENCY):
            e, t, v = Signal(lanes, name=f"en_d{i + 2}"), Signal(OperandTag, name=f"tag_d{i + 2}"), Signal(name=f"busy_d{i + 2}")
            m.d.sync += [e.eq(enables), t.eq(tags), v.eq(busies)]
            enables, tags, busies = e, t, v

        # stage 3: masked lanes, registered
        for c in range(lanes):
            m.d.sync += self.operands.payload.x[c].eq(Mux(enables[c], self.read.data[c], 0))
        m.d.sync += [self.operands.payload.tag.eq(tags), self.operands.valid.eq(busies)]
        assert 1 + ACTIVATION_READ_LATENCY + 1 == FETCH_LATENCY
        return m
