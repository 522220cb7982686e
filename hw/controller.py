"""The controller: walks each step of the layer program, one cycle at a time, over the datapath.

Between steps, one set-up cycle (`NEXT`): the sequencer makes the prefetched
descriptor current and the lane walkers take their prefetched starts; every
loop bound is registered there, so that nothing in a step compares against
arithmetic. Then, per kind:

- `LOAD`: take image beats (`cols` pixels of one channel) and write them at
  the fetch walker's lanes, channel after channel;
- `CONV` (after `TABLE`, which loads a codebook layer's decode table): for
  each channel tile and each pixel tile, issue the tile's reduction steps
  k = (cin, dy, dx), one a cycle (`WINDOW` fetches, the weight word's address
  beside them), and at the tile's end push the tile's record for the
  write-back; a tile lasts `period` = max(K, rows, 2) cycles;
- `ADD`: per group of `cols` pixels of a channel, read the first input, then
  the second;
- `POOL_*`: per channel, read its groups, wait for the score, send it.

`DRAIN` waits, after a step's last issue, until its last write has landed
(the step's `drain`, from the schedule). With `debug_pause`, the controller
stops after every step in `PAUSE` (not counted as frame time) and reads the
activation memory at `debug_address` until `debug_resume`. After the last
step, `FINISH` lets the activity counters settle, snapshots them and pulses
`frame_done`; the next frame follows.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.activation_memory import LaneWritePort
from firebrick.hw.latency import COUNTER_LATENCY
from firebrick.hw.operand_fetch import FetchKind, fetch_command_layout
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths, StepKind, step_layout
from firebrick.hw.raster_lanes import LanePositions, WalkControl


#: the controller's part of the activity events (the top adds the SRAM lanes)
ControllerEvents = data.StructLayout({"counting": 1, "stalled": 1, "weight_read": 1, "bias_read": 1})


class Controller(wiring.Component):
    def __init__(self, params: ArrayParams, widths: ProgramWidths, *, codebook_bits: int | None = None) -> None:
        self.params, self.widths, self.codebook_bits = params, widths, codebook_bits
        layout = step_layout(params, widths)
        cols, rows = params.cols, params.rows
        lane = signed(params.lane_act_bits)
        walk = WalkControl.Signature(widths=widths)
        super().__init__({
            # the sequencer
            "desc": In(layout),
            "next_desc": In(layout),
            "ready": In(1),
            "next_is_first": In(1),
            "advance": Out(1),
            # lane walkers
            "fetch_walk": Out(walk),
            "out_walk": Out(walk),
            "b_walk": Out(walk),
            "fetch_lanes": In(LanePositions.Signature(lanes=cols, widths=widths)),
            # operand fetch and the weight path
            "command": Out(fetch_command_layout(widths)),
            "weight_address": Out(unsigned(widths.weight_address)),
            "bias_address": Out(unsigned(widths.bias_address)),
            "table_load": Out(1),
            "table_index": Out(range((1 << (codebook_bits or 1)) + 1)),
            # results
            "load_write": Out(LaneWritePort.Signature(lanes=cols, address_bits=widths.address, value_bits=params.lane_act_bits)),
            "push": Out(1),
            "valid_rows": Out(range(rows + 1)),
            "pool_score": In(signed(params.lane_act_bits + 1)),
            "pool_score_valid": In(1),
            # the accelerator's streams
            "image": In(stream.Signature(data.ArrayLayout(lane, cols))),
            "scores": Out(stream.Signature(signed(params.lane_act_bits + 1))),
            # activity counters: what this cycle counts as
            "events": Out(ControllerEvents),
            "clear": Out(1),
            "snapshot": Out(1),
            # progress and debug
            "step_done": Out(1),
            "frame_done": Out(1),
            "debug_pause": In(1),
            "debug_resume": In(1),
            "paused": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p, w = self.params, self.widths
        rows = p.rows
        desc, nxt = self.desc, self.next_desc
        count = unsigned(w.count)
        address = signed(w.address + 1)
        cmd = self.command
        walks = (self.fetch_walk, self.out_walk, self.b_walk)

        # loop state
        kstep, p_tile, n_tile, beat, channel = (Signal(count, name=n) for n in ("kstep", "p_tile", "n_tile", "beat", "channel"))
        last_k, last_period, last_pixel_tile, last_channel_tile, last_channel = (
            Signal(count, name=n) for n in ("last_k", "last_period", "last_pixel_tile", "last_channel_tile", "last_channel"))
        issuing = Signal()
        offset = Signal(address)
        dy, dx = Signal(2), Signal(2)
        tile_weight_base = Signal(unsigned(w.weight_address))
        remaining = Signal(signed(w.count + 1))
        n_valid = Signal(range(rows + 1))
        bases = [Signal(address, name=f"{name}_base") for name in ("fetch", "out", "b")]  # the next reset's base
        drain = Signal(unsigned(w.drain))
        add_phase = Signal()
        score = Signal(signed(p.lane_act_bits + 1))
        finish = Signal(range(COUNTER_LATENCY))
        entries = 1 << (self.codebook_bits or 1)

        # (a signal driven partly inside the FSM and partly outside becomes, in Verilog, blocks that Icarus
        # never evaluates when their inputs stay put: every field of `command` and `events` is set in the FSM)
        ev = self.events
        m.d.comb += [self.valid_rows.eq(n_valid), self.scores.payload.eq(score)]
        m.d.sync += [self.step_done.eq(0), self.frame_done.eq(0)]

        def reset_walks(*which: int) -> None:
            steps = (desc.in_plane, desc.out_walk_step, desc.b_plane)
            for i in which:
                m.d.comb += [walks[i].reset.eq(1), walks[i].base.eq(bases[i])]
                m.d.sync += bases[i].eq(bases[i] + steps[i])

        def advance_walks(*which: int) -> None:
            for i in which:
                m.d.comb += walks[i].advance.eq(1)

        def end_step() -> None:
            m.d.sync += self.step_done.eq(1)
            with m.If(self.debug_pause):
                m.next = "PAUSE"
            with m.Else():
                m.next = "NEXT"

        def min_rows(value):
            return Mux(value > rows, rows, Mux(value < 0, 0, value))

        with m.FSM(init="NEXT"):
            with m.State("NEXT"):
                m.d.comb += ev.counting.eq(~self.next_is_first)
                with m.If(self.ready):
                    m.d.comb += [self.advance.eq(1), self.clear.eq(self.next_is_first)]
                    m.d.comb += [walk.load.eq(1) for walk in walks]
                    m.d.sync += [
                        kstep.eq(0), p_tile.eq(0), n_tile.eq(0), beat.eq(0), channel.eq(0), issuing.eq(1),
                        offset.eq(0), dy.eq(0), dx.eq(0), add_phase.eq(0),
                        last_k.eq(nxt.reduction - 1), last_period.eq(nxt.period - 1),
                        last_pixel_tile.eq(nxt.pixel_tiles - 1), last_channel_tile.eq(nxt.channel_tiles - 1),
                        last_channel.eq(nxt.channels - 1),
                        tile_weight_base.eq(nxt.weight_base), self.weight_address.eq(nxt.weight_base),
                        self.bias_address.eq(nxt.bias_base), self.table_index.eq(0),
                        remaining.eq(nxt.out_channels), n_valid.eq(min_rows(nxt.out_channels)),
                        bases[0].eq(nxt.in_plane), bases[1].eq(nxt.out_walk_step), bases[2].eq(nxt.b_plane),
                    ]
                    with m.Switch(nxt.kind):
                        with m.Case(StepKind.LOAD):
                            m.next = "LOAD"
                        with m.Case(StepKind.CONV):
                            m.next = "TABLE" if self.codebook_bits else "CONV"
                        with m.Case(StepKind.POOL):
                            m.next = "POOL_ISSUE"
                        with m.Case(StepKind.ADD):
                            m.next = "ADD"

            with m.State("LOAD"):
                image = self.image
                m.d.comb += [image.ready.eq(1), ev.counting.eq(1), ev.stalled.eq(~image.valid)]
                for c in range(p.cols):
                    m.d.comb += [self.load_write.addr[c].eq(self.fetch_lanes.origin[c]),
                                 self.load_write.data[c].eq(image.payload[c]),
                                 self.load_write.en[c].eq(image.valid & self.fetch_lanes.valid[c])]
                with m.If(image.valid):
                    with m.If(beat == last_pixel_tile):
                        reset_walks(0)
                        m.d.sync += [beat.eq(0), channel.eq(channel + 1)]
                        with m.If(channel == last_channel):
                            m.d.sync += drain.eq(desc.drain)
                            m.next = "DRAIN"
                    with m.Else():
                        advance_walks(0)
                        m.d.sync += beat.eq(beat + 1)

            with m.State("TABLE"):
                # read entry i while writing entry i-1 (the codebook memory has one cycle of latency)
                m.d.comb += [ev.counting.eq(1), self.table_load.eq(1)]
                m.d.sync += self.table_index.eq(self.table_index + 1)
                with m.If(self.table_index == entries):
                    m.d.sync += self.table_index.eq(0)
                    m.next = "CONV"

            with m.State("CONV"):
                m.d.comb += [
                    ev.counting.eq(1), ev.weight_read.eq(issuing),
                    cmd.kind.eq(Mux(issuing, FetchKind.WINDOW, FetchKind.NONE)),
                    cmd.offset.eq(offset), cmd.dy.eq(dy), cmd.dx.eq(dx),
                    cmd.tag.conv.valid.eq(issuing), cmd.tag.conv.first.eq(issuing & (kstep == 0)),
                    cmd.tag.conv.last.eq(issuing & (kstep == last_k)),
                ]
                with m.If(kstep == last_period):  # the tile's last cycle
                    m.d.comb += [self.push.eq(1), ev.bias_read.eq(1)]
                    m.d.sync += [kstep.eq(0), issuing.eq(1), offset.eq(0), dy.eq(0), dx.eq(0)]
                    with m.If(p_tile == last_pixel_tile):
                        m.d.comb += [self.fetch_walk.reset.eq(1), self.fetch_walk.base.eq(0)]
                        reset_walks(1)
                        m.d.sync += [
                            p_tile.eq(0), n_tile.eq(n_tile + 1),
                            tile_weight_base.eq(tile_weight_base + desc.reduction),
                            self.weight_address.eq(tile_weight_base + desc.reduction),
                            self.bias_address.eq(self.bias_address + 1),
                            remaining.eq(remaining - rows), n_valid.eq(min_rows(remaining - rows)),
                        ]
                        with m.If(n_tile == last_channel_tile):
                            m.d.sync += drain.eq(desc.drain)
                            m.next = "DRAIN"
                    with m.Else():
                        advance_walks(0, 1)
                        m.d.sync += [p_tile.eq(p_tile + 1), self.weight_address.eq(tile_weight_base)]
                with m.Else():
                    m.d.sync += kstep.eq(kstep + 1)
                with m.If(issuing & (kstep != last_period)):
                    m.d.sync += self.weight_address.eq(self.weight_address + 1)
                    with m.If(kstep == last_k):
                        m.d.sync += issuing.eq(0)
                    with m.If(dx == desc.kernel - 1):
                        m.d.sync += dx.eq(0)
                        with m.If(dy == desc.kernel - 1):
                            m.d.sync += [dy.eq(0), offset.eq(offset + desc.cin_step)]
                        with m.Else():
                            m.d.sync += [dy.eq(dy + 1), offset.eq(offset + desc.dy_step)]
                    with m.Else():
                        m.d.sync += [dx.eq(dx + 1), offset.eq(offset + 1)]

            with m.State("ADD"):
                m.d.comb += [
                    ev.counting.eq(1),
                    cmd.kind.eq(Mux(add_phase, FetchKind.RASTER_B, FetchKind.RASTER_A)),
                    cmd.tag.add_a.eq(~add_phase), cmd.tag.add_b.eq(add_phase),
                ]
                m.d.sync += add_phase.eq(~add_phase)
                with m.If(add_phase):
                    with m.If(beat == last_pixel_tile):
                        reset_walks(0, 1, 2)
                        m.d.sync += [beat.eq(0), channel.eq(channel + 1)]
                        with m.If(channel == last_channel):
                            m.d.sync += drain.eq(desc.drain)
                            m.next = "DRAIN"
                    with m.Else():
                        advance_walks(0, 1, 2)
                        m.d.sync += beat.eq(beat + 1)

            with m.State("DRAIN"):  # until the step's last write has landed
                m.d.comb += ev.counting.eq(1)
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    end_step()

            with m.State("POOL_ISSUE"):
                m.d.comb += [ev.counting.eq(1), cmd.kind.eq(FetchKind.RASTER_A), cmd.tag.pool.valid.eq(1),
                             cmd.tag.pool.last.eq(beat == last_pixel_tile)]
                with m.If(beat == last_pixel_tile):
                    reset_walks(0)
                    m.d.sync += beat.eq(0)
                    m.next = "POOL_WAIT"
                with m.Else():
                    advance_walks(0)
                    m.d.sync += beat.eq(beat + 1)

            with m.State("POOL_WAIT"):
                m.d.comb += ev.counting.eq(1)
                with m.If(self.pool_score_valid):
                    m.d.sync += score.eq(self.pool_score)
                    m.next = "POOL_SEND"

            with m.State("POOL_SEND"):
                m.d.comb += [ev.counting.eq(1), self.scores.valid.eq(1), ev.stalled.eq(~self.scores.ready)]
                with m.If(self.scores.ready):
                    m.d.sync += channel.eq(channel + 1)
                    with m.If(channel == last_channel):
                        m.d.sync += finish.eq(COUNTER_LATENCY - 1)
                        m.next = "FINISH"
                    with m.Else():
                        m.next = "POOL_ISSUE"

            with m.State("PAUSE"):
                m.d.comb += [self.paused.eq(1), cmd.kind.eq(FetchKind.DEBUG)]
                with m.If(self.debug_resume):
                    m.next = "NEXT"

            with m.State("FINISH"):  # the counters' pipeline empties, then they are copied out
                m.d.sync += finish.eq(finish - 1)
                with m.If(finish == 0):
                    m.d.comb += self.snapshot.eq(1)
                    m.d.sync += [self.frame_done.eq(1), self.step_done.eq(1)]
                    m.next = "NEXT"
        return m


def conv_issue_model(step, rows: int) -> list[tuple | None]:
    """Reference model of a conv step's tiles, one entry a cycle: (weight address, tap offset, dy, dx, first, last)
    for a cycle that issues a reduction step, None for one that waits; the tile's record is pushed at each tile's last."""
    trace = []
    for n_tile in range(step.channel_tiles):
        for _ in range(step.pixel_tiles):
            offset = 0
            for k in range(step.period):
                if k >= step.reduction:
                    trace.append(None)
                    continue
                cin, tap = divmod(k, step.kernel * step.kernel)
                dy, dx = divmod(tap, step.kernel)
                trace.append((step.weight_base + n_tile * step.reduction + k, offset, dy, dx, k == 0, k == step.reduction - 1))
                if dx < step.kernel - 1:
                    offset += 1
                elif dy < step.kernel - 1:
                    offset += step.dy_step
                else:
                    offset += step.cin_step
    return trace
