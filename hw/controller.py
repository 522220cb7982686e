"""The controller: walks each step of the layer program, one cycle at a time, over the datapath.

Between steps, one set-up cycle (`NEXT`): the sequencer makes the prefetched
descriptor current and the lane walkers take their prefetched starts; every
loop bound is registered there, so that nothing in a step compares against
arithmetic. Then, per kind:

- `LOAD`: take image beats (`cols` pixels of one channel), to be written at
  the fetch walker's lanes (`LOAD_WRITE_LATENCY`), channel after channel;
- `CONV` (after `TABLE`, which loads a codebook layer's decode table): for
  each channel tile and each pixel tile, issue the tile's reduction steps
  k = (cin, dy, dx), one a cycle (`WINDOW` fetches, the weight word's address
  beside them), and at the tile's end push the tile's record for the
  write-back; a tile lasts `period` = max(K, rows, 2) cycles;
- `ADD`: per group of `cols` pixels of a channel, read the first input, then
  the second; the output walker runs ADD_WRITE_DELAY cycles behind the reads,
  so that it points at each group's output pixels as the bypass add writes
  them (no positions travel with the data);
- `POOL`: read each channel's groups, channel after channel back to back; each
  channel's score goes out through the score queue, whose place the channel's
  last read reserves (it waits while the queue is full, counted as stalled);
  `POOL_DRAIN` until the last score has been sent.

Every output to the datapath (lane walker controls, fetch commands, weight
addresses, tile records, image beats) is registered (`CONTROL_LATENCY`): the
datapath runs that much behind the controller's decisions, so no control
path reaches across the chip in one cycle. `DRAIN` waits, after a step's last
issue, until its last write has landed (the step's `drain`, from the
schedule); `POOL_DRAIN` as long, and beyond that (counted as stalled) until
the stream has taken the last score. With `debug_pause`, the controller
stops after every step in `PAUSE` (not counted as frame time) and reads the
activation memory at `debug_address` until `debug_resume`. After the last
step, `FINISH` lets the activity counters settle, snapshots them and pulses
`frame_done`; the next frame follows.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.latency import ADD_LATENCY, CONTROL_LATENCY, COUNTER_LATENCY, FETCH_LATENCY
from firebrick.hw.operand_fetch import FetchKind, fetch_command_layout
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths, StepKind, step_layout
from firebrick.hw.raster_lanes import WalkControl
from firebrick.hw.score_queue import ScoreQueue


#: cycles from a bypass add's second read to its results' write
ADD_WRITE_DELAY = FETCH_LATENCY + ADD_LATENCY
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
            # operand fetch and the weight path
            "command": Out(fetch_command_layout(widths)),
            "weight_address": Out(unsigned(widths.weight_address)),
            "bias_address": Out(unsigned(widths.bias_address)),
            "table_load": Out(1),
            "table_index": Out(range((1 << (codebook_bits or 1)) + 1)),
            # results
            # an image beat to write at the fetch walker's lanes (the walker is as far behind as this)
            "load_beat": Out(1),
            "load_data": Out(data.ArrayLayout(lane, cols)),
            "push": Out(1),
            "valid_rows": Out(range(rows + 1)),
            "pool_score": In(signed(params.lane_act_bits + 1)),
            "pool_score_valid": In(1),
            # the accelerator's streams
            "image": In(stream.Signature(data.ArrayLayout(lane, cols))),
            "scores": Out(stream.Signature(signed(params.lane_act_bits + 1))),
            #: with `scores.valid`: this is the frame's last score (the pool's last channel)
            "scores_last": Out(1),
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
        # what the step decides this cycle; the datapath gets it from registers, CONTROL_LATENCY later
        cmd = Signal(self.command.shape())
        walk_shape = data.StructLayout({"load": 1, "reset": 1, "advance": 1, "base": address})
        walks = [Signal(walk_shape, name=f"{name}_walk_now") for name in ("fetch", "out", "b")]
        push, table_load, beat_taken = Signal(), Signal(), Signal()
        weight_address = Signal.like(self.weight_address)
        bias_address = Signal.like(self.bias_address)
        table_index = Signal.like(self.table_index)

        # loop state: down-counters whose "last" flags are registers, set one cycle ahead, so that every
        # decision in a step starts from a flip-flop, not from a comparison
        class Countdown:
            def __init__(self, name: str) -> None:
                self.left, self.last = Signal(count, name=f"{name}_left"), Signal(name=f"{name}_last")

            def load(self, first):  # statements: start from `first` (the count less one)
                return [self.left.eq(first), self.last.eq(first == 0)]

            def step(self):
                return [self.left.eq(self.left - 1), self.last.eq(self.left == 1)]

        period, issue, pixel, channel = (Countdown(n) for n in ("period", "issue", "pixel", "channel"))
        # the loop bounds (less one), registered at the step's set-up, and whether they are zero
        period_first, issue_first, pixel_first = (Signal(count, name=f"{n}_first") for n in ("period", "issue", "pixel"))
        issuing, first_issue = Signal(), Signal()
        offset = Signal(address)
        dy, dx = Signal(2), Signal(2)
        kernel_last = Signal(2)
        tile_weight_base, next_tile_weight_base = (Signal(unsigned(w.weight_address), name=n)
                                                   for n in ("tile_weight_base", "next_tile_weight_base"))
        remaining = Signal(signed(w.count + 1))
        n_valid = Signal(range(rows + 1))
        bases = [Signal(address, name=f"{name}_base") for name in ("fetch", "out", "b")]  # the next reset's base
        drain = Signal(unsigned(w.drain))
        add_phase = Signal()
        finish = Signal(range(COUNTER_LATENCY))
        entries = 1 << (self.codebook_bits or 1)

        # (a signal driven partly inside the FSM and partly outside becomes, in Verilog, blocks that Icarus
        # never evaluates when their inputs stay put: every field of `command` and `events` is set in the FSM)
        ev = self.events
        # the image stream's handshake from a flip-flop: exactly "in LOAD", set on the way in
        loading = Signal()
        m.d.comb += self.image.ready.eq(loading)
        # the scores: out of the queue, which counts them and marks the last
        m.submodules.score_queue = queue = ScoreQueue(self.pool_score.shape(), w.count)
        reserve = Signal()
        wiring.connect(m, queue.scores, wiring.flipped(self.scores))
        m.d.comb += [queue.start.eq(self.advance), queue.scores_less_one.eq(nxt.channels - 1), queue.reserve.eq(reserve),
                     queue.score.eq(self.pool_score), queue.score_valid.eq(self.pool_score_valid),
                     self.scores_last.eq(queue.last)]
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

        def next_group(*which: int, on_last_channel) -> None:
            """One group of `cols` pixels of a channel done (load, add): on to the next group or channel."""
            with m.If(pixel.last):
                reset_walks(*which)
                m.d.sync += [*pixel.load(pixel_first), *channel.step()]
                with m.If(channel.last):
                    on_last_channel()
            with m.Else():
                advance_walks(*which)
                m.d.sync += pixel.step()

        def to_drain() -> None:
            m.d.sync += drain.eq(desc.drain)
            m.next = "DRAIN"

        pausing = Signal()

        def registered(value, name: str):
            """`value` through CONTROL_LATENCY registers: one beside the controller, one beside the datapath."""
            for i in range(CONTROL_LATENCY):
                stage = Signal.like(value, name=f"{name}_r{i + 1}")
                m.d.sync += stage.eq(value)
                value = stage
            return value

        for port, value, name in ((self.command, cmd, "command"), (self.push, push, "push"), (self.valid_rows, n_valid, "valid_rows"),
                                  (self.bias_address, bias_address, "bias_address"), (self.weight_address, weight_address, "weight_address"),
                                  (self.table_load, table_load, "table_load"), (self.table_index, table_index, "table_index"),
                                  (self.load_beat, beat_taken, "load_beat"), (self.load_data, self.image.payload, "load_data"),
                                  # `paused` rises when the fetch has the debug command: reads from then on are served
                                  (self.paused, pausing, "paused")):
            m.d.comb += port.eq(registered(value, name))
        walk_outputs = [registered(now, f"{name}_walk") for now, name in zip(walks, ("fetch", "out", "b"))]
        # in an add, the output walker runs ADD_WRITE_DELAY behind the reads: at each group's results
        delayed = walk_outputs[1]
        for i in range(ADD_WRITE_DELAY):
            nxt_stage = Signal(walk_shape, name=f"out_walk_d{i + 1}")
            m.d.sync += nxt_stage.eq(delayed)
            delayed = nxt_stage
        late = Signal()
        m.d.sync += late.eq(desc.kind == StepKind.ADD)
        for port, source in ((self.fetch_walk, walk_outputs[0]), (self.b_walk, walk_outputs[2])):
            m.d.comb += [port.load.eq(source.load), port.reset.eq(source.reset), port.advance.eq(source.advance), port.base.eq(source.base)]
        m.d.comb += [self.out_walk.load.eq(walk_outputs[1].load),
                     self.out_walk.reset.eq(Mux(late, delayed.reset, walk_outputs[1].reset)),
                     self.out_walk.advance.eq(Mux(late, delayed.advance, walk_outputs[1].advance)),
                     self.out_walk.base.eq(Mux(late, delayed.base, walk_outputs[1].base))]

        with m.FSM(init="NEXT"):
            with m.State("NEXT"):
                m.d.comb += ev.counting.eq(~self.next_is_first)
                with m.If(self.ready):
                    m.d.comb += [self.advance.eq(1), self.clear.eq(self.next_is_first)]
                    # each walker takes its starts only for a step that uses it (the output walker: conv and add
                    # writes; the second input's: add). Besides sparing toggles, this keeps the three load
                    # registers different, which synthesis would otherwise merge into one flip-flop driving all
                    # three walkers across the chip (seen on the ULX3S as a 10.9 ns critical path)
                    m.d.comb += [walks[0].load.eq(1), walks[1].load.eq((nxt.kind == StepKind.CONV) | (nxt.kind == StepKind.ADD)),
                                 walks[2].load.eq(nxt.kind == StepKind.ADD)]
                    m.d.sync += [
                        issuing.eq(1), first_issue.eq(1), offset.eq(0), dy.eq(0), dx.eq(0), add_phase.eq(0),
                        kernel_last.eq(nxt.kernel - 1),
                        period_first.eq(nxt.period - 1), issue_first.eq(nxt.reduction - 1), pixel_first.eq(nxt.pixel_tiles - 1),
                        *period.load(nxt.period - 1), *issue.load(nxt.reduction - 1), *pixel.load(nxt.pixel_tiles - 1),
                        *channel.load(Mux(nxt.kind == StepKind.CONV, nxt.channel_tiles, nxt.channels) - 1),
                        tile_weight_base.eq(nxt.weight_base), next_tile_weight_base.eq(nxt.weight_base + nxt.reduction),
                        weight_address.eq(nxt.weight_base),
                        bias_address.eq(nxt.bias_base), table_index.eq(0),
                        remaining.eq(nxt.out_channels), n_valid.eq(min_rows(nxt.out_channels)),
                        bases[0].eq(nxt.in_plane), bases[1].eq(nxt.out_walk_step), bases[2].eq(nxt.b_plane),
                    ]
                    with m.Switch(nxt.kind):
                        with m.Case(StepKind.LOAD):
                            m.d.sync += loading.eq(1)
                            m.next = "LOAD"
                        with m.Case(StepKind.CONV):
                            m.next = "TABLE" if self.codebook_bits else "CONV"
                        with m.Case(StepKind.POOL):
                            m.next = "POOL"
                        with m.Case(StepKind.ADD):
                            m.next = "ADD"

            with m.State("LOAD"):
                image = self.image
                m.d.comb += [ev.counting.eq(1), ev.stalled.eq(~image.valid)]
                with m.If(image.valid):
                    m.d.comb += beat_taken.eq(1)

                    def last_beat():
                        m.d.sync += loading.eq(0)
                        to_drain()

                    next_group(0, on_last_channel=last_beat)

            with m.State("TABLE"):
                # read entry i while writing entry i-1 (the codebook memory has one cycle of latency)
                m.d.comb += [ev.counting.eq(1), table_load.eq(1)]
                m.d.sync += table_index.eq(table_index + 1)
                with m.If(table_index == entries):
                    m.d.sync += table_index.eq(0)
                    m.next = "CONV"

            with m.State("CONV"):
                m.d.comb += [
                    ev.counting.eq(1), ev.weight_read.eq(issuing),
                    cmd.kind.eq(Mux(issuing, FetchKind.WINDOW, FetchKind.NONE)),
                    cmd.offset.eq(offset), cmd.dy.eq(dy), cmd.dx.eq(dx),
                    cmd.tag.conv.valid.eq(issuing), cmd.tag.conv.first.eq(issuing & first_issue),
                    cmd.tag.conv.last.eq(issuing & issue.last),
                ]
                with m.If(period.last):  # the tile's last cycle
                    m.d.comb += [push.eq(1), ev.bias_read.eq(1)]
                    m.d.sync += [*period.load(period_first), *issue.load(issue_first), issuing.eq(1), first_issue.eq(1),
                                 offset.eq(0), dy.eq(0), dx.eq(0)]
                    with m.If(pixel.last):
                        m.d.comb += [walks[0].reset.eq(1), walks[0].base.eq(0)]
                        reset_walks(1)
                        m.d.sync += [
                            *pixel.load(pixel_first), *channel.step(),
                            tile_weight_base.eq(next_tile_weight_base), weight_address.eq(next_tile_weight_base),
                            next_tile_weight_base.eq(next_tile_weight_base + desc.reduction),
                            bias_address.eq(bias_address + 1),
                            remaining.eq(remaining - rows), n_valid.eq(min_rows(remaining - rows)),
                        ]
                        with m.If(channel.last):
                            to_drain()
                    with m.Else():
                        advance_walks(0, 1)
                        m.d.sync += [*pixel.step(), weight_address.eq(tile_weight_base)]
                with m.Else():
                    m.d.sync += period.step()
                    with m.If(issuing):
                        m.d.sync += [weight_address.eq(weight_address + 1), first_issue.eq(0), *issue.step()]
                        with m.If(issue.last):
                            m.d.sync += issuing.eq(0)
                        with m.If(dx == kernel_last):
                            m.d.sync += dx.eq(0)
                            with m.If(dy == kernel_last):
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
                    next_group(0, 1, 2, on_last_channel=to_drain)

            with m.State("DRAIN"):  # until the step's last write has landed
                m.d.comb += ev.counting.eq(1)
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    end_step()

            with m.State("POOL"):
                # a channel's last read waits for a place in the score queue
                held_back = Signal()
                m.d.comb += [held_back.eq(pixel.last & queue.full), ev.counting.eq(1), ev.stalled.eq(held_back),
                             cmd.kind.eq(Mux(held_back, FetchKind.NONE, FetchKind.RASTER_A)),
                             cmd.tag.pool.valid.eq(~held_back), cmd.tag.pool.last.eq(pixel.last & ~held_back)]
                with m.If(~held_back):
                    with m.If(pixel.last):
                        reset_walks(0)
                        m.d.comb += reserve.eq(1)
                        m.d.sync += [*pixel.load(pixel_first), *channel.step()]
                        with m.If(channel.last):
                            m.d.sync += drain.eq(desc.drain)
                            m.next = "POOL_DRAIN"
                    with m.Else():
                        advance_walks(0)
                        m.d.sync += pixel.step()

            with m.State("POOL_DRAIN"):
                # the last score is on the stream when `drain` runs out; a cycle beyond is the stream's stall
                m.d.comb += [ev.counting.eq(1), ev.stalled.eq((drain == 0) & ~queue.sent_last)]
                with m.If(drain != 0):
                    m.d.sync += drain.eq(drain - 1)
                with m.If(queue.sent_last):
                    m.d.sync += finish.eq(COUNTER_LATENCY - 1)
                    m.next = "FINISH"

            with m.State("PAUSE"):
                m.d.comb += [pausing.eq(1), cmd.kind.eq(FetchKind.DEBUG)]
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
