"""The accelerator's top level: a controller walking the compiled layer program over the datapath.

Ports: `image`, a valid/ready stream of `cols` input pixels of one channel per
beat (raster order, channel after channel, the last beat of a channel padded);
`scores`, a stream of one class score per beat after the frame; activity
`counters`, valid at `frame_done`; `step_index`/`step_done` to follow progress.

Per conv step the controller issues, each cycle, one reduction step k = (cin,
dy, dx) of the current tile: every column lane reads its window pixel from the
banked activation memory (zero outside the map), every row its weight from the
weight memory; both reach the array two cycles later. At the end of each tile
a record per column (its output pixel's address, validity, the channel tile's
base address and, for column 0, the biases) is queued; as a column drains, its
values go through its requantizer, are deskewed so that every cycle writes
one channel of one tile (conflict-free by layout), and are written back. A conv step ends
`conv_pipeline_latency` cycles after its last issue. The final global pool
reads `cols` pixels per cycle and streams one score per channel.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.activation_memory import ActivationMemory
from firebrick.hw.codebook_decoder import CodebookDecoder
from firebrick.hw.conv_writeback import ConvWriteback
from firebrick.hw.compiler import KIND_ADD, KIND_CONV, KIND_LOAD, KIND_POOL, Program
from firebrick.hw.packing import pack_lanes
from firebrick.hw.params import ArrayParams
from firebrick.hw.raster_lanes import ADDRESS_BITS, COORD_BITS, RasterLanes, TrackerConfig
from firebrick.hw.requantize import shift_range
from firebrick.hw.schedule import ADD_DRAIN_CYCLES, FETCH_LATENCY, conv_pipeline_latency
from firebrick.hw.systolic_array import SystolicArray
from firebrick.hw.vector_ops import POOL_MULTIPLIER_BITS, BypassAdd, GlobalPoolUnit

COUNTER_BITS = 48
Counters = data.StructLayout({
    "cycles": unsigned(COUNTER_BITS),
    "stall_cycles": unsigned(COUNTER_BITS),
    "mac_ops": unsigned(COUNTER_BITS),
    "act_reads": unsigned(COUNTER_BITS),
    "act_writes": unsigned(COUNTER_BITS),
    "weight_reads": unsigned(COUNTER_BITS),
    "bias_reads": unsigned(COUNTER_BITS),
})


def descriptor_layout(params: ArrayParams) -> data.StructLayout:
    address = signed(ADDRESS_BITS + 1)
    count = unsigned(ADDRESS_BITS)
    low, high = shift_range(params)
    clip = signed(params.lane_act_bits + 1)
    return data.StructLayout({
        "kind": unsigned(2),
        "fetch": TrackerConfig,
        "out": TrackerConfig,
        "in_base": address, "in_plane": address,
        "in_height": signed(COORD_BITS + 2), "in_width": signed(COORD_BITS + 2),
        "channels": count, "kernel": unsigned(2), "reduction": count, "period": count,
        "channel_tiles": count, "pixel_tiles": count,
        "dy_step": address, "cin_step": address,
        "out_base": address, "out_plane": address, "top_row_offset": address, "out_channels": count,
        "weight_base": count, "bias_base": count,
        "shift": signed(max((params.acc_bits + POOL_MULTIPLIER_BITS + 2).bit_length() + 1, (-low).bit_length() + 1)),
        "lo": clip, "hi": clip, "multiplier": unsigned(POOL_MULTIPLIER_BITS + 1),
        "b": TrackerConfig, "b_base": address, "b_plane": address,
        "align_a": unsigned(5), "align_b": unsigned(5), "codebook_base": count,
    })


def _popcount(m: Module, bits, name: str) -> Signal:
    count = Signal(range(len(bits) + 1), name=name)
    m.d.comb += count.eq(sum((bits[i] for i in range(len(bits))), 0))
    return count


class Accelerator(wiring.Component):
    def __init__(self, program: Program) -> None:
        self.program = program
        p = program.params
        self.params = p
        lane = signed(p.lane_act_bits)
        super().__init__({
            "image": In(stream.Signature(data.ArrayLayout(lane, p.cols))),
            "scores": Out(stream.Signature(signed(p.lane_act_bits + 1))),
            "step_index": Out(range(len(program.steps) + 1)),
            "step_done": Out(1),
            "frame_done": Out(1),
            "counters": Out(Counters),
            "conflict": Out(1),
            "overrun": Out(1),
            # debug: with debug_pause set the controller stops after every step (not counted as cycles)
            # until debug_resume; meanwhile debug_address reads the activation memory (one cycle later)
            "debug_pause": In(1),
            "debug_resume": In(1),
            "paused": Out(1),
            "debug_address": In(unsigned(ADDRESS_BITS)),
            "debug_data": Out(signed(p.lane_act_bits)),
        })
        self.activations = ActivationMemory(
            banks=program.memory.banks, depth=max(program.memory.bank_depth, 1), lanes=p.cols, value_bits=p.lane_act_bits
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        prog, p = self.program, self.params
        rows, cols = p.rows, p.cols
        steps = prog.steps
        layout = descriptor_layout(p)

        # -- the program ROM ------------------------------------------------------------------
        step = Signal(range(len(steps) + 1))
        desc = Signal(layout)
        with m.Switch(step):
            for i, s in enumerate(steps):
                with m.Case(i):
                    fields = {f: getattr(s, f) for f in layout.members if f not in ("kind", "fetch", "out", "b")}
                    m.d.comb += desc.eq(layout.const({
                        **fields, "kind": s.kind,
                        "fetch": s.fetch or {}, "out": s.out or {}, "b": s.b or {},
                    }))
        m.d.comb += self.step_index.eq(step)

        # -- datapath ------------------------------------------------------------------------
        m.submodules.activations = act = self.activations
        m.submodules.array = array = SystolicArray(p)
        m.submodules.fetch_lanes = fetch = RasterLanes(cols)
        m.submodules.out_lanes = out_lanes = RasterLanes(cols)
        m.submodules.b_lanes = b_lanes = RasterLanes(cols)
        m.submodules.pool = pool = GlobalPoolUnit(p, cols)
        m.submodules.adder = adder = BypassAdd(p, cols)
        m.d.comb += [fetch.config.eq(desc.fetch), out_lanes.config.eq(desc.out), b_lanes.config.eq(desc.b)]
        m.d.comb += [self.conflict.eq(act.conflict), self.overrun.eq(array.overrun)]

        # the weight memory holds weights, or k-bit codebook indices decoded by a per-layer table
        stored_bits = prog.codebook_bits or p.weight_bits
        weights = memory.Memory(shape=unsigned(rows * stored_bits), depth=len(prog.weights),
                                init=[pack_lanes(w, stored_bits) for w in prog.weights])
        biases = memory.Memory(shape=unsigned(rows * p.acc_bits), depth=len(prog.biases),
                               init=[pack_lanes(b, p.acc_bits) for b in prog.biases])
        m.submodules.weights, m.submodules.biases = weights, biases
        weight_port, bias_port = weights.read_port(), biases.read_port()

        # conv issue state
        n_tile = Signal(range(max(len(prog.weights), 1) + 1))
        p_tile = Signal(unsigned(ADDRESS_BITS))
        kstep = Signal(unsigned(ADDRESS_BITS))
        offset = Signal(signed(ADDRESS_BITS + 1))
        cin = Signal(unsigned(ADDRESS_BITS))
        dy = Signal(range(4))
        dx = Signal(range(4))
        tile_weight_base = Signal(unsigned(ADDRESS_BITS))
        chan_addr = Signal(signed(ADDRESS_BITS + 1))
        remaining = Signal(signed(ADDRESS_BITS + 1))
        n_valid = Signal(range(rows + 1))
        m.d.comb += n_valid.eq(Mux(remaining > rows, rows, remaining))
        # load / pool state
        channel = Signal(unsigned(ADDRESS_BITS))
        chan_base = Signal(signed(ADDRESS_BITS + 1))
        b_chan_base = Signal(signed(ADDRESS_BITS + 1))
        out_chan_base = Signal(signed(ADDRESS_BITS + 1))
        add_phase = Signal()
        beat = Signal(unsigned(ADDRESS_BITS))
        wait = Signal(range(conv_pipeline_latency(p) + 2))
        score = Signal(signed(p.lane_act_bits + 1))

        debug_read = Signal()
        issuing = Signal()        # a conv reduction step is issued this cycle
        pool_issue = Signal()     # a pool read group is issued this cycle
        add_read_a = Signal()     # bypass add: first input's group read this cycle
        add_read_b = Signal()     # bypass add: second input's group read this cycle
        pool_last = Signal()
        inside = Signal(cols)
        read_enable = Signal(cols)

        # operand fetch: lane addresses and border tests
        for c in range(cols):
            row = fetch.row0[c] + dy
            col = fetch.col0[c] + dx
            m.d.comb += inside[c].eq(fetch.valid[c] & (row >= 0) & (row < desc.in_height) & (col >= 0) & (col < desc.in_width))
            with m.If(issuing):
                m.d.comb += [act.read_address[c].eq(desc.in_base + fetch.origin[c] + offset), read_enable[c].eq(inside[c])]
            with m.Elif(pool_issue | add_read_a):
                m.d.comb += [act.read_address[c].eq(chan_base + fetch.origin[c]), read_enable[c].eq(fetch.valid[c])]
            with m.Elif(add_read_b):
                m.d.comb += [act.read_address[c].eq(b_chan_base + b_lanes.origin[c]), read_enable[c].eq(b_lanes.valid[c])]
            if c == 0:
                with m.Elif(debug_read):
                    m.d.comb += [act.read_address[0].eq(self.debug_address), read_enable[0].eq(1)]
        m.d.comb += self.debug_data.eq(act.read_data[0])
        m.d.comb += act.read_enable.eq(read_enable)
        m.d.comb += [weight_port.addr.eq(tile_weight_base + kstep), bias_port.addr.eq(desc.bias_base + n_tile)]

        # two cycles from issue to the array: SRAM read, then a register with the border mask applied
        enable_d1 = Signal(cols)
        m.d.sync += enable_d1.eq(read_enable)
        x = Signal(data.ArrayLayout(signed(p.lane_act_bits), cols))
        for c in range(cols):
            m.d.sync += x[c].eq(Mux(enable_d1[c], act.read_data[c], 0))
        w = Signal(data.ArrayLayout(signed(p.weight_bits), rows))
        table_load = Signal()
        table_index = Signal(range((1 << (prog.codebook_bits or 1)) + 2))
        if prog.codebook_bits:
            k = prog.codebook_bits
            m.submodules.decoder = decoder = CodebookDecoder(index_bits=k, weight_bits=p.weight_bits, lanes=rows)
            tables = memory.Memory(shape=signed(p.weight_bits), depth=len(prog.codebooks), init=[int(v) for v in prog.codebooks])
            m.submodules.codebooks = tables
            table_port = tables.read_port()
            m.d.comb += table_port.addr.eq(desc.codebook_base + table_index)
            loaded = Signal(range(1 << k))
            m.d.sync += loaded.eq(table_index)
            m.d.comb += [
                decoder.write_enable.eq(table_load & (table_index != 0)),
                decoder.write_index.eq(loaded), decoder.write_weight.eq(table_port.data),
            ]
            for r in range(rows):
                m.d.comb += decoder.index[r].eq(weight_port.data[r * k:(r + 1) * k])
                m.d.sync += w[r].eq(decoder.weight[r])
        else:
            for r in range(rows):
                m.d.sync += w[r].eq(weight_port.data[r * p.weight_bits:(r + 1) * p.weight_bits].as_signed())
        ctl = [Signal(3, name=f"ctl_d{i}") for i in range(FETCH_LATENCY)]
        m.d.sync += ctl[0].eq(Mux(issuing, Mux(kstep == 0, 0b011, 0b001) | Mux(kstep == desc.reduction - 1, 0b100, 0), 0))
        for i in range(1, FETCH_LATENCY):
            m.d.sync += ctl[i].eq(ctl[i - 1])
        m.d.comb += [array.x.eq(x), array.w.eq(w), array.ctl.eq(ctl[-1])]
        pool_ctl = [Signal(2, name=f"pool_d{i}") for i in range(FETCH_LATENCY)]
        m.d.sync += pool_ctl[0].eq(Mux(pool_issue, Mux(pool_last, 0b11, 0b01), 0))
        for i in range(1, FETCH_LATENCY):
            m.d.sync += pool_ctl[i].eq(pool_ctl[i - 1])
        m.d.comb += pool.x.eq(x)
        pool_mask = Signal(cols)
        m.d.sync += pool_mask.eq(enable_d1)
        m.d.comb += [
            pool.mask.eq(pool_mask), pool.valid.eq(pool_ctl[-1][0]), pool.last.eq(pool_ctl[-1][1]),
            pool.multiplier.eq(desc.multiplier), pool.shift.eq(desc.shift), pool.lo.eq(desc.lo), pool.hi.eq(desc.hi),
        ]
        with m.If(pool.out_valid):
            m.d.sync += score.eq(pool.out)

        # bypass add: hold the first input one cycle, add the second as it arrives, write two cycles after
        held = Signal(data.ArrayLayout(signed(p.lane_act_bits), cols))
        b_d1 = Signal()
        m.d.sync += b_d1.eq(add_read_b)
        with m.If(~b_d1):
            m.d.sync += held.eq(act.read_data)
        add_address = [Signal(signed(ADDRESS_BITS + 1), name=f"add_address{c}_d{i}") for c in range(cols) for i in range(2)]
        add_enable = [Signal(cols, name=f"add_enable_d{i}") for i in range(2)]
        for c in range(cols):
            m.d.sync += [add_address[2 * c].eq(out_chan_base + out_lanes.origin[c]), add_address[2 * c + 1].eq(add_address[2 * c])]
        m.d.sync += [add_enable[0].eq(Mux(add_read_b, out_lanes.valid, 0)), add_enable[1].eq(add_enable[0])]
        m.d.comb += [
            adder.a.eq(held), adder.b.eq(act.read_data), adder.valid.eq(b_d1),
            adder.align_a.eq(desc.align_a), adder.align_b.eq(desc.align_b),
            adder.shift.eq(desc.shift), adder.lo.eq(desc.lo), adder.hi.eq(desc.hi),
        ]

        # conv results: tile records, requantizers and the deskewed write-back
        push = Signal()
        m.submodules.writeback = writeback = ConvWriteback(p)
        m.d.comb += [
            writeback.push.eq(push), writeback.positions.eq(out_lanes.origin), writeback.lane_valid.eq(out_lanes.valid),
            writeback.channel_address.eq(chan_addr), writeback.valid_rows.eq(n_valid), writeback.biases.eq(bias_port.data),
            writeback.acc.eq(array.out), writeback.acc_valid.eq(array.out_valid), writeback.acc_row.eq(array.out_row),
            writeback.top_row_offset.eq(desc.top_row_offset), writeback.plane.eq(desc.out_plane),
            writeback.shift.eq(desc.shift), writeback.lo.eq(desc.lo), writeback.hi.eq(desc.hi),
        ]

        # write lanes: the image during load, conv results otherwise
        load_beat = Signal()
        for c in range(cols):
            with m.If(load_beat):
                m.d.comb += [
                    act.write_address[c].eq(chan_base + fetch.origin[c]),
                    act.write_data[c].eq(self.image.payload[c]),
                    act.write_enable[c].eq(fetch.valid[c]),
                ]
            with m.Elif(add_enable[1] != 0):
                m.d.comb += [
                    act.write_address[c].eq(add_address[2 * c + 1]),
                    act.write_data[c].eq(adder.out[c]),
                    act.write_enable[c].eq(add_enable[1][c]),
                ]
            with m.Else():
                m.d.comb += [
                    act.write_address[c].eq(writeback.write_address[c]),
                    act.write_data[c].eq(writeback.write_value[c]),
                    act.write_enable[c].eq(writeback.write_enable[c]),
                ]

        # -- activity counters ---------------------------------------------------------------
        counters = Signal(Counters)
        counting = Signal()
        stalled = Signal()
        m.d.comb += self.counters.eq(counters)
        reads = _popcount(m, act.read_enable, "reads_now")
        writes = _popcount(m, act.write_enable, "writes_now")
        with m.If(counting):
            m.d.sync += [
                counters.cycles.eq(counters.cycles + 1),
                counters.stall_cycles.eq(counters.stall_cycles + stalled),
                counters.act_reads.eq(counters.act_reads + reads),
                counters.act_writes.eq(counters.act_writes + writes),
                counters.weight_reads.eq(counters.weight_reads + issuing),
                counters.bias_reads.eq(counters.bias_reads + push),
                counters.mac_ops.eq(counters.mac_ops + Mux(issuing, reads * n_valid, 0)),
            ]

        # -- the controller ------------------------------------------------------------------
        m.d.sync += [self.step_done.eq(0), self.frame_done.eq(0)]
        reset_lanes = Signal()
        advance_lanes = Signal()
        m.d.comb += [fetch.reset.eq(reset_lanes), out_lanes.reset.eq(reset_lanes), b_lanes.reset.eq(reset_lanes),
                     fetch.advance.eq(advance_lanes), out_lanes.advance.eq(advance_lanes), b_lanes.advance.eq(advance_lanes)]

        def next_step():
            m.d.sync += [self.step_done.eq(1), step.eq(step + 1)]
            with m.If(self.debug_pause):
                m.next = "PAUSE"
            with m.Else():
                m.next = "SETUP"

        with m.FSM(init="SETUP"):
            with m.State("SETUP"):
                m.d.comb += [reset_lanes.eq(1), counting.eq(step != 0)]
                m.d.sync += [
                    n_tile.eq(0), p_tile.eq(0), kstep.eq(0), offset.eq(0), cin.eq(0), dy.eq(0), dx.eq(0),
                    tile_weight_base.eq(desc.weight_base), chan_addr.eq(desc.out_base), remaining.eq(desc.out_channels),
                    channel.eq(0), beat.eq(0), chan_base.eq(desc.in_base),
                    b_chan_base.eq(desc.b_base), out_chan_base.eq(desc.out_base), add_phase.eq(0),
                ]
                with m.If(step == 0):
                    m.d.sync += counters.eq(0)
                with m.Switch(desc.kind):
                    with m.Case(KIND_LOAD):
                        m.next = "LOAD"
                    with m.Case(KIND_CONV):
                        m.next = "TABLE" if prog.codebook_bits else "CONV"
                    with m.Case(KIND_POOL):
                        m.next = "POOL_ISSUE"
                    with m.Case(KIND_ADD):
                        m.next = "ADD"

            with m.State("LOAD"):
                m.d.comb += [self.image.ready.eq(1), counting.eq(1), stalled.eq(~self.image.valid)]
                with m.If(self.image.valid):
                    m.d.comb += load_beat.eq(1)
                    with m.If(beat == desc.pixel_tiles - 1):
                        m.d.comb += reset_lanes.eq(1)
                        m.d.sync += [beat.eq(0), channel.eq(channel + 1), chan_base.eq(chan_base + desc.in_plane)]
                        with m.If(channel == desc.channels - 1):
                            next_step()
                    with m.Else():
                        m.d.comb += advance_lanes.eq(1)
                        m.d.sync += beat.eq(beat + 1)

            with m.State("CONV"):
                m.d.comb += [counting.eq(1), issuing.eq(kstep < desc.reduction)]
                with m.If(kstep == desc.period - 1):
                    m.d.comb += push.eq(1)
                    m.d.sync += [kstep.eq(0), offset.eq(0), cin.eq(0), dy.eq(0), dx.eq(0)]
                    with m.If(p_tile == desc.pixel_tiles - 1):
                        m.d.comb += reset_lanes.eq(1)
                        m.d.sync += [
                            p_tile.eq(0), n_tile.eq(n_tile + 1),
                            tile_weight_base.eq(tile_weight_base + desc.reduction),
                            chan_addr.eq(chan_addr + rows * desc.out_plane), remaining.eq(remaining - rows),
                        ]
                        with m.If(n_tile == desc.channel_tiles - 1):
                            m.d.sync += wait.eq(conv_pipeline_latency(p) - 1)
                            m.next = "DRAIN"
                    with m.Else():
                        m.d.comb += advance_lanes.eq(1)
                        m.d.sync += p_tile.eq(p_tile + 1)
                with m.Else():
                    m.d.sync += kstep.eq(kstep + 1)
                    with m.If(dx == desc.kernel - 1):
                        m.d.sync += dx.eq(0)
                        with m.If(dy == desc.kernel - 1):
                            m.d.sync += [dy.eq(0), cin.eq(cin + 1), offset.eq(offset + desc.cin_step)]
                        with m.Else():
                            m.d.sync += [dy.eq(dy + 1), offset.eq(offset + desc.dy_step)]
                    with m.Else():
                        m.d.sync += [dx.eq(dx + 1), offset.eq(offset + 1)]

            with m.State("TABLE"):
                # read entry i while writing entry i-1 (the table ROM has one cycle of latency)
                m.d.comb += [counting.eq(1), table_load.eq(1)]
                m.d.sync += table_index.eq(table_index + 1)
                with m.If(table_index == (1 << (prog.codebook_bits or 1))):
                    m.d.sync += table_index.eq(0)
                    m.next = "CONV"

            with m.State("ADD"):
                m.d.comb += [counting.eq(1), add_read_a.eq(~add_phase), add_read_b.eq(add_phase)]
                m.d.sync += add_phase.eq(~add_phase)
                with m.If(add_phase):
                    with m.If(beat == desc.pixel_tiles - 1):
                        m.d.comb += reset_lanes.eq(1)
                        m.d.sync += [
                            beat.eq(0), channel.eq(channel + 1), chan_base.eq(chan_base + desc.in_plane),
                            b_chan_base.eq(b_chan_base + desc.b_plane), out_chan_base.eq(out_chan_base + desc.out_plane),
                        ]
                        with m.If(channel == desc.channels - 1):
                            m.d.sync += wait.eq(ADD_DRAIN_CYCLES - 1)
                            m.next = "DRAIN"
                    with m.Else():
                        m.d.comb += advance_lanes.eq(1)
                        m.d.sync += beat.eq(beat + 1)

            with m.State("DRAIN"):  # wait until the step's last write has landed
                m.d.comb += counting.eq(1)
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    next_step()

            with m.State("POOL_ISSUE"):
                m.d.comb += [counting.eq(1), pool_issue.eq(1), pool_last.eq(beat == desc.pixel_tiles - 1)]
                with m.If(beat == desc.pixel_tiles - 1):
                    m.d.comb += reset_lanes.eq(1)
                    m.d.sync += beat.eq(0)
                    m.next = "POOL_WAIT"
                with m.Else():
                    m.d.comb += advance_lanes.eq(1)
                    m.d.sync += beat.eq(beat + 1)

            with m.State("POOL_WAIT"):
                m.d.comb += counting.eq(1)
                with m.If(pool.out_valid):
                    m.next = "POOL_SEND"

            with m.State("POOL_SEND"):
                m.d.comb += [counting.eq(1), self.scores.valid.eq(1), self.scores.payload.eq(score), stalled.eq(~self.scores.ready)]
                with m.If(self.scores.ready):
                    m.d.sync += [channel.eq(channel + 1), chan_base.eq(chan_base + desc.in_plane)]
                    with m.If(channel == desc.channels - 1):
                        m.next = "FINISH"
                    with m.Else():
                        m.next = "POOL_ISSUE"

            with m.State("PAUSE"):
                m.d.comb += [self.paused.eq(1), debug_read.eq(1)]
                with m.If(self.debug_resume):
                    m.next = "SETUP"

            with m.State("FINISH"):
                m.d.sync += [self.frame_done.eq(1), self.step_done.eq(1), step.eq(0)]
                m.next = "SETUP"
        return m
