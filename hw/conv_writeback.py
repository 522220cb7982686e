"""The conv write-back: from the array's drained sums to activation-memory writes.

When a tile's issue ends, the controller `push`es one record per column: the
address of the column's output pixel in the tile's top channel (rows - 1; the
output walker's origin), whether that pixel exists, the tile's valid row
count and (column 0 only) the address of the tile's bias word. The bias
memory lives here: when a record reaches the head of column 0's queue, its
word (one bias per row) is read. As column c drains rows R-1..0, its record
gives each value's address (one channel plane lower per row); column 0 picks
the row's bias from the word and passes it right one column per cycle, as the
drain is staggered. Each column registers its value and address, takes its
bias, adds (wrapping at the accumulator's width) and requantizes
(`RoundShiftClip`): the value is ready WRITEBACK_LATENCY cycles after it left
the array. A deskew then delays column c by cols-1-c cycles so that every
cycle's writes are one channel of one tile, which the memory layout made
bank-conflict-free.

`overflow` goes high, and stays, if a record is pushed while a column's queue
is full (the queue depth follows from the pipeline; the tests watch it).

Built for run-time loading (`bias_depth`), the bias memory starts empty and
the loader fills it through `bias_write`.
"""

from __future__ import annotations

import math

import numpy as np
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from firebrick.hw.activation_memory import LaneWritePort
from firebrick.hw.block_ram import connect_ports, uninitialised_attrs
from firebrick.hw.latency import FETCH_LATENCY, PE_LATENCY, ROUND_SHIFT_CLIP_LATENCY, WRITEBACK_LATENCY
from firebrick.hw.loader import memory_write
from firebrick.hw.packing import pack_lanes
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths, requant_shift_range
from firebrick.hw.requantize import conv_shift_range
from firebrick.hw.round_shift_clip import RoundShiftClip
from firebrick.hw.skew import SkewBuffer


def record_depth(params: ArrayParams) -> int:
    """Tile records a column holds at most: from a tile's push to its last drained row, over the shortest tile."""
    push_to_pop = FETCH_LATENCY + PE_LATENCY + 2 * params.rows + params.cols
    return math.ceil(push_to_pop / max(params.rows, 2)) + 1


class ConvWriteback(wiring.Component):
    def __init__(self, params: ArrayParams, widths: ProgramWidths, *, biases: np.ndarray,
                 bias_depth: int | None = None, ram_style: str | None = None, single_port: bool = False) -> None:
        """`bias_depth`: a bias memory of that many words that the loader fills, instead of `biases`; `ram_style`: the
        kind of RAM that memory asks synthesis for (block_ram.LargeRam); `single_port`: one address for its read and
        its write (block_ram.connect_ports)."""
        self.params, self.widths, self.biases, self.bias_depth = params, widths, biases, bias_depth
        self.ram_style, self.single_port = ram_style, single_port
        rows, cols = params.rows, params.cols
        address = signed(widths.address + 1)
        value = signed(params.lane_act_bits + 1)
        low, high = requant_shift_range(params)
        loading = {} if bias_depth is None else {
            "bias_write": In(memory_write(bias_depth, rows * params.acc_bits))}
        super().__init__({
            **loading,
            # tile records, pushed when a tile's issue ends
            "push": In(1),
            "positions": In(data.ArrayLayout(address, cols)),
            "lane_valid": In(cols),
            "valid_rows": In(range(rows + 1)),
            "bias_address": In(unsigned(widths.bias_address)),
            # the array's drain
            "acc": In(data.ArrayLayout(signed(params.acc_bits), cols)),
            "acc_valid": In(cols),
            "acc_row": In(data.ArrayLayout(unsigned(max(ceil_log2(rows), 1)), cols)),
            # the layer
            "plane": In(address),
            "shift": In(signed(max(high.bit_length(), (-low).bit_length()) + 1)),
            "round": In(unsigned(high + 1)),
            "lo": In(value),
            "hi": In(value),
            # deskewed writes
            "write": Out(LaneWritePort.Signature(lanes=cols, address_bits=widths.address, value_bits=params.lane_act_bits)),
            "overflow": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p, w = self.params, self.widths
        rows, cols = p.rows, p.cols
        address_shape = signed(w.address + 1)
        record = data.StructLayout({"pos": address_shape, "valid": 1, "n_valid": range(rows + 1)})
        first_record = data.StructLayout({"common": record, "bias_address": unsigned(w.bias_address)})
        write_lane = data.StructLayout({"address": address_shape, "value": signed(p.lane_act_bits + 1), "enable": 1})
        m.submodules.deskew = deskew = SkewBuffer(write_lane, cols)
        low, high = conv_shift_range(p)
        depth = record_depth(p)

        if self.bias_depth is None:
            m.submodules.biases = biases = memory.Memory(
                shape=unsigned(rows * p.acc_bits), depth=len(self.biases), init=[pack_lanes(b, p.acc_bits) for b in self.biases])
        else:
            m.submodules.biases = biases = memory.Memory(
                shape=unsigned(rows * p.acc_bits), depth=self.bias_depth, init=[],
                attrs=uninitialised_attrs(self.ram_style))
        bias_port = biases.read_port()
        bias = [Signal(signed(p.acc_bits), name=f"bias{c}", reset_less=True) for c in range(cols)]  # registered, W1
        for c in range(cols):
            shape = first_record if c == 0 else record
            m.submodules[f"records{c}"] = queue = fifo.SyncFIFO(width=shape.size, depth=depth)
            entry = Signal(shape, name=f"entry{c}")
            common = entry.common if c == 0 else entry
            m.d.comb += [
                common.pos.eq(self.positions[c]), common.valid.eq(self.lane_valid[c]), common.n_valid.eq(self.valid_rows),
                queue.w_data.eq(entry), queue.w_en.eq(self.push),
            ]
            if c == 0:
                m.d.comb += entry.bias_address.eq(self.bias_address)
            with m.If(self.push & ~queue.w_rdy):
                m.d.sync += self.overflow.eq(1)
            full_head = data.View(shape, queue.r_data)
            head = full_head.common if c == 0 else full_head
            valid, row = self.acc_valid[c], self.acc_row[c]
            m.d.comb += queue.r_en.eq(valid & (row == 0))

            # W0: the value and its address, registered
            acc = [Signal(signed(p.acc_bits), name=f"acc{c}_w{i}", reset_less=True) for i in (0, 1)]
            address = [Signal(address_shape, name=f"address{c}_w{i}", reset_less=True) for i in (0, 1)]
            live = [Signal(name=f"live{c}_w{i}") for i in (0, 1)]
            acc_row = Signal.like(row, name=f"row{c}_w0")
            m.d.sync += [acc[0].eq(self.acc[c]), live[0].eq(valid & head.valid & (row < head.n_valid)), acc_row.eq(row)]
            with m.If(valid):
                m.d.sync += address[0].eq(Mux(row == rows - 1, head.pos, address[0] - self.plane))
            # W1: the bias of the value's row (column 0 from the tile's word, the others one column behind)
            m.d.sync += [acc[1].eq(acc[0]), live[1].eq(live[0]), address[1].eq(address[0])]
            if c == 0:
                # the bias word is read when a record reaches the head of the queue: after a pop, or a push into an empty one
                fresh = Signal()
                m.d.sync += fresh.eq(queue.r_en | (self.push & ~queue.r_rdy))
                if self.bias_depth is None:
                    m.d.comb += [bias_port.addr.eq(full_head.bias_address), bias_port.en.eq(fresh)]
                else:
                    write = self.bias_write
                    connect_ports(m, bias_port, biases.write_port(), read_addr=full_head.bias_address, read_en=fresh,
                                  write_addr=write.addr, write_data=write.data, write_en=write.en, single_port=self.single_port)
                with m.Switch(acc_row):
                    for r in range(rows):
                        with m.Case(r):
                            m.d.sync += bias[0].eq(bias_port.data[r * p.acc_bits:(r + 1) * p.acc_bits].as_signed())
            else:
                m.d.sync += bias[c].eq(bias[c - 1])  # column c drains the same row one cycle later

            # W2: the sum, wrapping at the accumulator's width like the executor's
            total = Signal(signed(p.acc_bits), name=f"total{c}", reset_less=True)
            total_live = Signal(name=f"total_live{c}")
            total_address = Signal(address_shape, name=f"total_address{c}", reset_less=True)
            m.d.sync += [total.eq(acc[1] + bias[c]), total_live.eq(live[1]), total_address.eq(address[1])]

            # W3..: round, shift, clip
            m.submodules[f"requant{c}"] = requant = RoundShiftClip(
                value_bits=p.acc_bits, max_right=high, max_left=-low, out_bits=p.lane_act_bits + 1,
                shift_shape=self.shift.shape())
            m.d.comb += [requant.value.eq(total), requant.valid.eq(total_live), requant.shift.eq(self.shift),
                         requant.round.eq(self.round), requant.lo.eq(self.lo), requant.hi.eq(self.hi)]
            delayed = total_address
            for i in range(ROUND_SHIFT_CLIP_LATENCY):
                nxt = Signal(address_shape, name=f"address{c}_d{i + 2}", reset_less=True)
                m.d.sync += nxt.eq(delayed)
                delayed = nxt
            lane = deskew.i[cols - 1 - c]
            m.d.comb += [lane.address.eq(delayed), lane.value.eq(requant.out), lane.enable.eq(requant.out_valid)]
            out = deskew.o[cols - 1 - c]
            m.d.comb += [self.write.addr[c].eq(out.address), self.write.data[c].eq(out.value), self.write.en[c].eq(out.enable)]
        assert 3 + ROUND_SHIFT_CLIP_LATENCY == WRITEBACK_LATENCY
        return m
