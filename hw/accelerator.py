"""The accelerator's top level: the components of one compiled program, wired together.

Ports (the streams through a register stage each): `image`, a valid/ready
stream of `cols` input pixels of one channel per beat (raster order, channel
after channel, the last beat of a channel padded); `scores`, a stream of one
class score per beat after the frame; the activity
`counters` of the last finished frame (from `frame_done`); `step_index` /
`step_done` to follow progress; `conflict` / `overrun` (sticky: a compiler or
schedule bug, which the tests watch); and a debug read port: with
`debug_pause` set the controller stops after every step, and
`debug_data` shows the `cols` activation words from `debug_address` on (lane c:
the word at `debug_address` + c) DEBUG_READ_LATENCY cycles later.

Data flow of a conv step, one reduction step per cycle:

    Controller --command--> OperandFetch <--> ActivationMemory.read
         |                        |
         +--weight address--> WeightPath --w--+
                                  +----x------+--> SystolicArray --drain--> ConvWriteback --> ActivationMemory.write
         +--tile records (push)---------------------------------------------------^

Every stage is registered; the latencies are the named constants of
`latency.py`, which the schedule counts with.

Built with `loadable`, the memories carry no contents: a `load` stream
(load_format.py, through the `Loader`) writes the program, weights, biases
and codebooks, `loaded` / `load_error` report it, and until a load has
passed its checks the compute side is held in reset and `image` takes no
beat, so no frame runs on half-loaded memories. Otherwise the program's
contents are baked into the memories' initial values (a standalone
bitstream) and there is no load port.
"""

from __future__ import annotations

from amaranth import Module, ResetInserter, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.activation_memory import ActivationMemory
from firebrick.hw.activity_counters import ActivityCounters, Counters
from firebrick.hw.block_ram import LargeRam, ram_style, single_port
from firebrick.hw.bypass_add import BypassAdd
from firebrick.hw.compiler import Program
from firebrick.hw.controller import Controller
from firebrick.hw.conv_writeback import ConvWriteback
from firebrick.hw.global_pool import GlobalPool
from firebrick.hw.latency import FETCH_LATENCY
from firebrick.hw.load_format import Envelope, LoadFileError, envelope_shortfalls, program_envelope
from firebrick.hw.loader import LoadBeat, Loader, LoadError
from firebrick.hw.memories import WRITTEN_BY_FRAMES
from firebrick.hw.operand_fetch import FetchKind, OperandFetch
from firebrick.hw.raster_lanes import RasterLanes
from firebrick.hw.sequencer import Sequencer
from firebrick.hw.stream_register import StreamRegister
from firebrick.hw.systolic_array import SystolicArray
from firebrick.hw.weight_path import WeightPath

#: cycles from `debug_address` to `debug_data`: the port's register, then an operand fetch of every lane
DEBUG_READ_LATENCY = 1 + FETCH_LATENCY


class Accelerator(wiring.Component):
    def __init__(self, program: Program, *, dsp_multipliers: bool = False, loadable: bool = False,
                 envelope: Envelope | None = None, large_ram: LargeRam | None = None) -> None:
        """`dsp_multipliers`: the array's multipliers are DSP blocks (a board build whose array fits its DSPs).
        `loadable`: memories without contents, filled through the `load` stream, as large as `envelope` (default:
        as `program` needs; a larger one, `envelope_union`, runs every model it holds). `large_ram`: the memories
        the fit check put in the board's large RAM (UltraRAM, SPRAM), marked for synthesis."""
        if envelope is not None and not loadable:
            raise ValueError("an envelope sizes the memories of a loaded design; a baked one holds its program")
        if envelope is not None and (short := envelope_shortfalls(program, envelope)):
            raise LoadFileError(f"the model does not fit {envelope.describe()}: " + "; ".join(short))
        if large_ram is not None and not loadable and large_ram.memories - {"activations"}:
            raise ValueError("a baked design's memories have contents; only its activations can go to RAM without them")
        if large_ram is not None and large_ram.single_port and (written := large_ram.memories & WRITTEN_BY_FRAMES):
            raise ValueError(f"{', '.join(sorted(written))}: read and written in one cycle, they cannot go to single-port RAM")
        self.program, self.dsp_multipliers, self.large_ram = program, dsp_multipliers, large_ram
        #: what the memories hold (a load must be made for it); None when baked
        self.envelope: Envelope | None = (envelope or program_envelope(program)) if loadable else None
        p = program.params
        #: the program's field widths: a loaded design's are its envelope's
        self.widths = w = program.widths if self.envelope is None else self.envelope.widths
        self.params = p
        lane = signed(p.lane_act_bits)
        loading = {} if not loadable else {
            "load": In(stream.Signature(LoadBeat)), "loaded": Out(1), "load_error": Out(LoadError),
        }
        super().__init__({
            **loading,
            "image": In(stream.Signature(data.ArrayLayout(lane, p.cols))),
            "scores": Out(stream.Signature(signed(p.lane_act_bits + 1))),
            #: with `scores.valid`: the frame's last score
            "scores_last": Out(1),
            "step_index": Out(range(len(program.steps) if self.envelope is None else self.envelope.capacity["steps"])),
            "step_done": Out(1),
            "frame_done": Out(1),
            "counters": Out(Counters),
            "conflict": Out(1),
            "overrun": Out(1),
            "debug_pause": In(1),
            "debug_resume": In(1),
            "paused": Out(1),
            "debug_address": In(unsigned(w.address)),
            "debug_data": Out(data.ArrayLayout(lane, p.cols)),
        })
        self.activations = ActivationMemory(
            banks=program.memory.banks, lanes=p.cols, value_bits=p.lane_act_bits,
            depth=max(program.memory.bank_depth, 1) if self.envelope is None else self.envelope.activation_depth,
            address_bits=w.address, offset_bits=w.row_offset, write_ports=("load", "conv", "add"),
            ram_styles=tuple(ram_style(large_ram, "activations", b) for b in range(program.memory.banks)),
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        prog, p, w = self.program, self.params, self.widths
        env = self.envelope
        if env is not None:
            m.submodules.loader = loader = Loader(env)
            m.submodules.load_in = load_in = StreamRegister(LoadBeat)
            wiring.connect(m, wiring.flipped(self.load), load_in.i)
            wiring.connect(m, load_in.o, loader.load)
            m.d.comb += [self.loaded.eq(loader.loaded), self.load_error.eq(loader.error)]
            run = loader.loaded

            def held(component):  # the compute side restarts from reset after every load
                return ResetInserter(~run)(component)
        else:
            def held(component):
                return component
        capacity = env.capacity if env is not None else None
        m.submodules.sequencer = held(seq := Sequencer(prog.steps, p, w, capacity=capacity and capacity["steps"],
                                                   ram_style=ram_style(self.large_ram, "program"),
                                                   single_port=single_port(self.large_ram, "program")))
        m.submodules.controller = held(ctl := Controller(p, w, codebook_bits=prog.codebook_bits))
        walkers = {name: RasterLanes(lanes=p.cols, widths=w) for name in ("fetch", "out", "b")}
        for name, walker in walkers.items():
            m.submodules[f"{name}_lanes"] = held(walker)
            m.d.comb += [walker.walk.eq(getattr(seq.desc, name)), walker.next_walk.eq(getattr(seq.next_desc, name))]
            wiring.connect(m, getattr(ctl, f"{name}_walk"), walker.control)
        m.submodules.fetch = held(fetch := OperandFetch(lanes=p.cols, value_bits=p.lane_act_bits, widths=w,
                                                        banks=prog.memory.banks))
        m.submodules.activations = held(act := self.activations)
        m.submodules.weights = held(weights := WeightPath(
            p, w, weights=prog.weights, codebook_bits=prog.codebook_bits, codebooks=prog.codebooks,
            loaded=None if capacity is None else {"weights": capacity["weights"], "codebooks": capacity["codebooks"]},
            large_ram=self.large_ram))
        m.submodules.array = held(array := SystolicArray(p, dsp_multipliers=self.dsp_multipliers))
        m.submodules.writeback = held(writeback := ConvWriteback(p, w, biases=prog.biases,
                                                                 bias_depth=capacity and capacity["biases"],
                                                                 ram_style=ram_style(self.large_ram, "biases"),
                                                                 single_port=single_port(self.large_ram, "biases")))
        m.submodules.adder = held(adder := BypassAdd(p, w))
        m.submodules.pool = held(pool := GlobalPool(p))
        m.submodules.counters = held(counters := ActivityCounters(lanes=p.cols, rows=p.rows))
        desc = seq.desc
        if env is not None:
            wiring.connect(m, loader.steps, seq.program)
            wiring.connect(m, loader.weights, weights.weight_write)
            wiring.connect(m, loader.biases, writeback.bias_write)
            if prog.codebook_bits:
                wiring.connect(m, loader.codebooks, weights.codebook_write)
            m.d.comb += seq.last_step.eq(loader.last_step)

        # sequencer <-> controller
        m.d.comb += [ctl.desc.eq(seq.desc), ctl.next_desc.eq(seq.next_desc), ctl.ready.eq(seq.ready),
                     ctl.next_is_first.eq(seq.next_step == 0), seq.advance.eq(ctl.advance), self.step_index.eq(seq.step)]
        # operand fetch: the walkers' lanes in, the SRAM read out
        fetch_lanes, out_lanes, b_lanes = (walkers[n].positions for n in ("fetch", "out", "b"))
        # the debug address is registered before the fetch's address arithmetic: a port feeding it would put all of
        # that arithmetic into what Verilator evaluates at every eval() (twice a cycle), and lengthen its paths
        debug_address = Signal.like(self.debug_address)
        m.d.sync += debug_address.eq(self.debug_address)
        m.d.comb += [fetch.command.eq(ctl.command), fetch.in_height.eq(desc.in_height), fetch.in_width.eq(desc.in_width),
                     fetch.debug_address.eq(debug_address)]
        m.d.comb += [fetch.a.valid.eq(fetch_lanes.valid), fetch.a.origin.eq(fetch_lanes.origin),
                     fetch.a.row0.eq(fetch_lanes.row0), fetch.a.col0.eq(fetch_lanes.col0)]
        m.d.comb += [fetch.b.valid.eq(b_lanes.valid), fetch.b.origin.eq(b_lanes.origin),
                     fetch.b.row0.eq(b_lanes.row0), fetch.b.col0.eq(b_lanes.col0)]
        wiring.connect(m, fetch.read, act.read)
        operands = fetch.operands
        m.d.comb += self.debug_data.eq(operands.payload.x)
        # weights
        m.d.comb += [weights.weight_address.eq(ctl.weight_address),
                     weights.codebook_base.eq(desc.codebook_base), weights.table_load.eq(ctl.table_load),
                     weights.table_index.eq(ctl.table_index)]
        # the array: activations and control from the fetch, weights from the weight path, in step
        m.d.comb += [array.x.eq(operands.payload.x), array.w.eq(weights.w),
                     array.ctl.eq(operands.payload.tag.conv), self.overrun.eq(array.overrun | writeback.overflow)]
        # conv results: tile records, drained sums, the layer's requantization
        m.d.comb += [
            writeback.push.eq(ctl.push), writeback.positions.eq(out_lanes.origin), writeback.lane_valid.eq(out_lanes.valid),
            writeback.valid_rows.eq(ctl.valid_rows), writeback.bias_address.eq(ctl.bias_address),
            writeback.acc.eq(array.out), writeback.acc_valid.eq(array.out_valid), writeback.acc_row.eq(array.out_row),
            writeback.plane.eq(desc.out_plane), writeback.shift.eq(desc.shift), writeback.round.eq(desc.round),
            writeback.lo.eq(desc.lo), writeback.hi.eq(desc.hi),
        ]
        wiring.connect(m, writeback.write, act.conv)
        # bypass add and global pool read the fetched lanes too
        m.d.comb += [
            adder.operands.payload.eq(operands.payload), adder.operands.valid.eq(operands.valid),
            adder.positions.eq(out_lanes.origin), adder.lane_valid.eq(out_lanes.valid),
            adder.align_a.eq(desc.align_a), adder.align_b.eq(desc.align_b), adder.shift.eq(desc.shift),
            adder.round.eq(desc.round), adder.lo.eq(desc.lo), adder.hi.eq(desc.hi),
            pool.operands.payload.eq(operands.payload), pool.operands.valid.eq(operands.valid),
            pool.multiplier.eq(desc.multiplier), pool.shift.eq(desc.shift), pool.round.eq(desc.round),
            pool.lo.eq(desc.lo), pool.hi.eq(desc.hi),
            ctl.pool_score.eq(pool.score), ctl.pool_score_valid.eq(pool.score_valid),
        ]
        wiring.connect(m, adder.write, act.add)
        # the image: each beat written at the fetch walker's lanes
        for c in range(p.cols):
            m.d.comb += [act.load.addr[c].eq(fetch_lanes.origin[c]), act.load.data[c].eq(ctl.load_data[c]),
                         act.load.en[c].eq(ctl.load_beat & fetch_lanes.valid[c])]
        # streams through a register stage each, so that the outside's logic never reaches the controller's
        m.submodules.image_in = held(image_in := StreamRegister(self.image.payload.shape()))
        score_beat = data.StructLayout({"score": self.scores.payload.shape(), "last": 1})
        m.submodules.scores_out = held(scores_out := StreamRegister(score_beat))
        if env is None:
            wiring.connect(m, wiring.flipped(self.image), image_in.i)
        else:  # no image beat is taken before a load has passed
            m.d.comb += [image_in.i.payload.eq(self.image.payload), image_in.i.valid.eq(self.image.valid & run),
                         self.image.ready.eq(image_in.i.ready & run)]
        wiring.connect(m, image_in.o, ctl.image)
        m.d.comb += [scores_out.i.payload.score.eq(ctl.scores.payload), scores_out.i.payload.last.eq(ctl.scores_last),
                     scores_out.i.valid.eq(ctl.scores.valid), ctl.scores.ready.eq(scores_out.i.ready),
                     self.scores.payload.eq(scores_out.o.payload.score), self.scores_last.eq(scores_out.o.payload.last),
                     self.scores.valid.eq(scores_out.o.valid), scores_out.o.ready.eq(self.scores.ready)]
        m.d.comb += [self.step_done.eq(ctl.step_done), self.frame_done.eq(ctl.frame_done), self.paused.eq(ctl.paused),
                     ctl.debug_pause.eq(self.debug_pause), ctl.debug_resume.eq(self.debug_resume),
                     self.conflict.eq(act.conflict)]
        # activity: the controller's events, the SRAM's lanes (a read counts when its enables are registered)
        window = Signal()  # the registered read feeds the array
        debug = Signal()
        mac_rows = Signal.like(ctl.valid_rows)
        m.d.sync += [window.eq(ctl.command.kind == FetchKind.WINDOW), debug.eq(ctl.command.kind == FetchKind.DEBUG),
                     mac_rows.eq(ctl.valid_rows)]
        ev = counters.events
        m.d.comb += [
            ev.counting.eq(ctl.events.counting), ev.stalled.eq(ctl.events.stalled),
            ev.weight_read.eq(ctl.events.weight_read), ev.bias_read.eq(ctl.events.bias_read),
            ev.read_lanes.eq(fetch.read.en & ~debug.replicate(p.cols)), ev.mac_read.eq(window), ev.mac_rows.eq(mac_rows),
            ev.write_lanes.eq(act.load.en | writeback.write.en | adder.write.en),
            counters.clear.eq(ctl.clear), counters.snapshot.eq(ctl.snapshot), self.counters.eq(counters.counters),
        ]
        return m
