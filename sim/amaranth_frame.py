"""One frame through the accelerator in Amaranth's own simulator (no Verilog, no external tools).

Streams the load first when the design is built for run-time loading
(`loadable`), then the image in, collects the scores, and after every conv step reads
that layer's output tensor back out of the activation banks, so that each
layer can be compared with the golden executor. About 1-2 k cycles/s: for
small networks and CI; the cocotb + Verilator bench is the fast path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from amaranth.sim import Simulator

from firebrick.hw.accelerator import Accelerator
from firebrick.hw.activity_counters import Counters
from firebrick.hw.compiler import Program
from firebrick.hw.load_format import load_stream
from firebrick.hw.loader import LOAD_OUTCOME_CYCLES, LoadError
from firebrick.hw.packing import image_beats, unpack_lane
from firebrick.hw.program import StepKind


@dataclass
class FrameResult:
    scores: list[int]
    #: conv node -> its output (C, H, W) as read from the activation memory
    layers: dict[str, np.ndarray] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    conflict: bool = False
    overrun: bool = False
    #: per finished step: (its node, the cycle its last activation write was presented or None, the cycle it ended)
    step_ends: list[tuple[str, int | None, int]] = field(default_factory=list)
    #: words of the load streamed before the frame (loadable designs)
    load_words: int | None = None
    #: whether an image beat offered before the first load was taken (it must not be)
    image_taken_before_load: bool = False


class LoadFailed(RuntimeError):
    pass


def run_frame(program: Program, image: np.ndarray, *, max_cycles: int = 5_000_000, loadable: bool = False) -> FrameResult:
    """`loadable`: build the design for run-time loading and stream the program's load into it first."""
    return run_frames([(program, image)], max_cycles=max_cycles, loadable=loadable)[0]


def run_frames(jobs: list[tuple[Program, np.ndarray]], *, max_cycles: int = 5_000_000, loadable: bool = False,
               early_image_cycles: int = 0, envelope=None, large_ram=None) -> list[FrameResult]:
    """One frame per (program, image) job, in turn, on one accelerator built for the first program.

    `loadable`: each job's program is loaded before its frame (each must fit the design's envelope: `envelope`,
    by default the first program's own). `early_image_cycles`: before the first load, offer an image beat this long; the first
    result's `image_taken_before_load` says whether the design took it. `large_ram`: memories built for the board's
    large RAM (block_ram.LargeRam; single-port ones take one address a cycle).
    """
    design = jobs[0][0]
    dut = Accelerator(design, loadable=loadable, envelope=envelope, large_ram=large_ram)
    results = []

    def read_tensor(ctx, program: Program, node: str, shape) -> np.ndarray:
        memory = program.memory
        tensor, offset = memory.destinations[node]
        layout = memory.layouts[tensor]
        out = np.zeros(shape, np.int64)
        for c in range(shape[0]):
            for y in range(shape[1]):
                for x in range(shape[2]):
                    a = layout.address(offset + c, y, x)
                    out[c, y, x] = unpack_lane(ctx.get(dut.activations.memories[a % memory.banks].memory.data[a // memory.banks]), 0, program.params.lane_act_bits)
        return out

    async def load(ctx, program: Program, result: FrameResult):
        words = load_stream(program, dut.envelope)
        for i, word in enumerate(words):
            ctx.set(dut.load.payload, {"data": int(word), "last": int(i == len(words) - 1)})
            ctx.set(dut.load.valid, 1)
            await ctx.tick().until(dut.load.ready)
        ctx.set(dut.load.valid, 0)
        await ctx.tick().repeat(LOAD_OUTCOME_CYCLES)
        error = LoadError(ctx.get(dut.load_error))
        if not ctx.get(dut.loaded) or error != LoadError.NONE:
            raise LoadFailed(f"the load of {len(words)} words did not pass: error {error.name}")
        result.load_words = len(words)

    async def frame(ctx, program: Program, image: np.ndarray, result: FrameResult):
        shapes = {s.node: (s.out_channels, s.out.pixels // s.out.width, s.out.width)
                  for s in program.steps if s.kind == StepKind.CONV}
        for beat in image_beats(image, program.params.cols):
            ctx.set(dut.image.payload, beat)
            ctx.set(dut.image.valid, 1)
            await ctx.tick().until(dut.image.ready)
        ctx.set(dut.image.valid, 0)
        ctx.set(dut.scores.ready, 1)
        last_write = None
        pending = None  # a conv step that just finished: its tensor is read from the banks a cycle later
        memory_ports = [getattr(dut.activations, name) for name in dut.activations.write_port_names]
        for cycle in range(max_cycles):
            await ctx.tick()
            if pending is not None:
                # its last write is readable through the read port by now (WRITE_LATENCY); in the banks'
                # storage, which this peeks at directly, it landed one cycle later: here
                result.layers[pending] = read_tensor(ctx, program, pending, shapes[pending])
                pending = None
            if ctx.get(dut.scores.valid):
                result.scores.append(ctx.get(dut.scores.payload))
            if ctx.get(dut.step_done):
                result.step_ends.append((program.steps[ctx.get(dut.step_index)].node, last_write, cycle))
                last_write = None
            if any(ctx.get(port.en) for port in memory_ports):
                last_write = cycle
            if ctx.get(dut.step_done) and not ctx.get(dut.frame_done):
                finished = program.steps[ctx.get(dut.step_index)]
                if finished.kind == StepKind.CONV:
                    pending = finished.node
            if ctx.get(dut.frame_done):
                break
        else:
            raise RuntimeError(f"the accelerator did not finish within {max_cycles} cycles (step {ctx.get(dut.step_index)})")
        counters = ctx.get(dut.counters)
        result.counters = {name: int(getattr(counters, name)) for name in Counters.members}
        result.conflict, result.overrun = bool(ctx.get(dut.conflict)), bool(ctx.get(dut.overrun))

    async def bench(ctx):
        taken = False
        if early_image_cycles:
            ctx.set(dut.image.payload, image_beats(jobs[0][1], design.params.cols)[0])
            ctx.set(dut.image.valid, 1)
            for _ in range(early_image_cycles):
                await ctx.tick()
                taken |= bool(ctx.get(dut.image.ready))
            ctx.set(dut.image.valid, 0)
        for program, image in jobs:
            result = FrameResult(scores=[], image_taken_before_load=taken)
            if loadable:
                await load(ctx, program, result)
            elif program is not design:
                raise ValueError("a baked design runs only its own program")
            await frame(ctx, program, image, result)
            results.append(result)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return results
