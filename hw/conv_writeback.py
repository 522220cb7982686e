"""The conv write-back: from the array's drained sums to activation-memory writes.

When a tile's issue ends, the controller `push`es one record per column: the
column's output-pixel position in the output tensor, whether that pixel
exists, the channel tile's base address and valid row count, and (column 0
only) the tile's biases. As column c drains rows R-1..0, its record gives each
value's address (one plane lower per row); column 0 picks the row's bias and
passes it right one column per cycle, as the drain is staggered. Each column
requantizes its value; a deskew then delays column c by cols-1-c cycles so
that every cycle's writes are one channel of one tile, which the memory layout
made bank-conflict-free.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from firebrick.hw.params import ArrayParams
from firebrick.hw.raster_lanes import ADDRESS_BITS
from firebrick.hw.requantize import Requantizer, shift_range
from firebrick.hw.skew import SkewBuffer

#: tile records in flight per column: one computing, one draining, one queued, one spare
RECORD_DEPTH = 4


class ConvWriteback(wiring.Component):
    def __init__(self, params: ArrayParams) -> None:
        self.params = params
        rows, cols = params.rows, params.cols
        address = signed(ADDRESS_BITS + 1)
        value = signed(params.lane_act_bits + 1)
        low, high = shift_range(params)
        super().__init__({
            # tile records, pushed when a tile's issue ends
            "push": In(1),
            # (same element shape as RasterLanes.origin: array views assign bit for bit)
            "positions": In(data.ArrayLayout(signed(ADDRESS_BITS), cols)),
            "lane_valid": In(cols),
            "channel_address": In(address),
            "valid_rows": In(range(rows + 1)),
            "biases": In(unsigned(rows * params.acc_bits)),
            # the array's drain
            "acc": In(data.ArrayLayout(signed(params.acc_bits), cols)),
            "acc_valid": In(cols),
            "acc_row": In(data.ArrayLayout(unsigned(max(ceil_log2(rows), 1)), cols)),
            # the layer
            "top_row_offset": In(address),
            "plane": In(address),
            "shift": In(range(low, high + 1)),
            "lo": In(value),
            "hi": In(value),
            # deskewed writes
            "write_address": Out(data.ArrayLayout(address, cols)),
            "write_value": Out(data.ArrayLayout(value, cols)),
            "write_enable": Out(cols),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        rows, cols = p.rows, p.cols
        address_shape = signed(ADDRESS_BITS + 1)
        record = data.StructLayout({"pos": address_shape, "valid": 1, "chan_addr": address_shape, "n_valid": range(rows + 1)})
        first_record = data.StructLayout({"common": record, "bias": unsigned(rows * p.acc_bits)})
        write_lane = data.StructLayout({"address": address_shape, "value": signed(p.lane_act_bits + 1), "enable": 1})
        m.submodules.deskew = deskew = SkewBuffer(write_lane, cols)

        bias = [Signal(signed(p.acc_bits), name=f"bias{c}") for c in range(cols)]
        for c in range(cols):
            shape = first_record if c == 0 else record
            m.submodules[f"records{c}"] = queue = fifo.SyncFIFO(width=shape.size, depth=RECORD_DEPTH)
            entry = Signal(shape, name=f"entry{c}")
            common = entry.common if c == 0 else entry
            m.d.comb += [
                common.pos.eq(self.positions[c]), common.valid.eq(self.lane_valid[c]),
                common.chan_addr.eq(self.channel_address), common.n_valid.eq(self.valid_rows),
                queue.w_data.eq(entry), queue.w_en.eq(self.push),
            ]
            full_head = data.View(shape, queue.r_data)
            head = full_head.common if c == 0 else full_head
            valid, row = self.acc_valid[c], self.acc_row[c]
            m.d.comb += queue.r_en.eq(valid & (row == 0))
            if c == 0:
                m.d.comb += entry.bias.eq(self.biases)
                with m.Switch(row):
                    for r in range(rows):
                        with m.Case(r):
                            m.d.comb += bias[0].eq(full_head.bias[r * p.acc_bits:(r + 1) * p.acc_bits].as_signed())
            else:
                m.d.sync += bias[c].eq(bias[c - 1])  # column c drains the same row one cycle later

            previous = Signal(address_shape, name=f"row_address{c}")
            address = Signal(address_shape, name=f"address{c}")
            m.d.comb += address.eq(Mux(row == rows - 1, head.chan_addr + self.top_row_offset + head.pos, previous - self.plane))
            with m.If(valid):
                m.d.sync += previous.eq(address)
            m.submodules[f"requant{c}"] = requant = Requantizer(p)
            m.d.comb += [
                requant.acc.eq(self.acc[c]), requant.bias.eq(bias[c]),
                requant.valid.eq(valid & head.valid & (row < head.n_valid)),
                requant.shift.eq(self.shift), requant.lo.eq(self.lo), requant.hi.eq(self.hi),
            ]
            delayed = [Signal(address_shape, name=f"address{c}_d{i}") for i in (1, 2)]  # the requantizer's two stages
            m.d.sync += [delayed[0].eq(address), delayed[1].eq(delayed[0])]
            lane = deskew.i[cols - 1 - c]
            m.d.comb += [lane.address.eq(delayed[1]), lane.value.eq(requant.out), lane.enable.eq(requant.out_valid)]
            out = deskew.o[cols - 1 - c]
            m.d.comb += [self.write_address[c].eq(out.address), self.write_value[c].eq(out.value), self.write_enable[c].eq(out.enable)]
        return m
