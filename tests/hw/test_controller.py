"""The sequencer and controller alone: each conv step's issues in the model's order, each step as long as the schedule."""

from amaranth.hdl import Module
from amaranth.sim import Simulator

from firebrick.hw.compiler import compile_graph
from firebrick.hw.controller import Controller, conv_issue_model
from firebrick.hw.latency import CONTROL_LATENCY, FETCH_LATENCY, POOL_LATENCY
from firebrick.hw.operand_fetch import FetchKind
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import StepKind
from firebrick.hw.sequencer import Sequencer


def run_controller(program, *, codebook_bits=None, max_cycles=200_000):
    p, w = program.params, program.widths
    m = Module()
    m.submodules.seq = seq = Sequencer(program.steps, p, w)
    m.submodules.ctl = ctl = Controller(p, w, codebook_bits=codebook_bits)
    m.d.comb += [ctl.desc.eq(seq.desc), ctl.next_desc.eq(seq.next_desc), ctl.ready.eq(seq.ready),
                 ctl.next_is_first.eq(seq.next_step == 0), seq.advance.eq(ctl.advance)]
    trace = []

    async def bench(ctx):
        ctx.set(ctl.image.valid, 1)
        ctx.set(ctl.scores.ready, 1)
        score_due = set()
        for cycle in range(max_cycles):
            cmd = ctx.get(ctl.command)
            kind = FetchKind(cmd.kind)
            # the pool's scores: as the GlobalPool would give them, FETCH_LATENCY + POOL_LATENCY after a channel's last read
            if kind == FetchKind.RASTER_A and cmd.tag.pool.last:
                score_due.add(cycle + FETCH_LATENCY + POOL_LATENCY)
            ctx.set(ctl.pool_score_valid, cycle in score_due)
            await ctx.delay(1e-9)
            trace.append({
                "step": ctx.get(seq.step), "kind": kind, "offset": cmd.offset, "dy": cmd.dy, "dx": cmd.dx,
                "first": cmd.tag.conv.first, "last": cmd.tag.conv.last, "weight": ctx.get(ctl.weight_address),
                "push": ctx.get(ctl.push), "advance": ctx.get(ctl.advance), "counting": ctx.get(ctl.events.counting),
                "score": ctx.get(ctl.scores.valid),
            })
            await ctx.tick()
            if ctx.get(ctl.frame_done):
                return
        raise AssertionError("the controller did not finish the frame")

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return trace


def test_conv_issues_follow_the_model_and_steps_last_as_scheduled(small_graph):
    program = compile_graph(small_graph, ArrayParams(rows=2, cols=4))
    trace = run_controller(program)
    advances = [t for t, e in enumerate(trace) if e["advance"]]
    assert len(advances) == len(program.steps)
    starts = advances + [len(trace)]
    for i, step in enumerate(program.steps):
        # after its set-up, up to the next set-up, as the datapath sees the controller's registered outputs
        cycles = trace[starts[i] + 1 + CONTROL_LATENCY:starts[i + 1] + 1 + CONTROL_LATENCY]
        if step.kind == StepKind.CONV:
            body = cycles[: step.channel_tiles * step.pixel_tiles * step.period]
            got = [(e["weight"], e["offset"], e["dy"], e["dx"], bool(e["first"]), bool(e["last"]))
                   if e["kind"] == FetchKind.WINDOW else None for e in body]
            assert got == conv_issue_model(step, program.params.rows), step.node
            pushes = [t for t, e in enumerate(body) if e["push"]]
            assert pushes == [k * step.period - 1 for k in range(1, step.channel_tiles * step.pixel_tiles + 1)]
    # every step is as long as the schedule says; the frame counter counts what the schedule counts
    counted = sum(e["counting"] for e in trace)
    assert counted == sum(s.cycles for s in program.schedule)
    # from one set-up to the next; the first step's set-up starts the frame and is not counted
    durations = [b - a for a, b in zip(advances, advances[1:])]
    assert durations == [program.schedule[0].cycles + 1] + [s.cycles for s in program.schedule[1:-1]]
    assert sum(e["score"] for e in trace) == program.num_classes


def test_the_sequencer_walks_the_program_and_wraps(small_graph):
    program = compile_graph(small_graph, ArrayParams(rows=2, cols=2))
    dut = Sequencer(program.steps, program.params, program.widths)
    order = []

    async def bench(ctx):
        for _ in range(2 * len(program.steps)):
            while not ctx.get(dut.ready):
                await ctx.tick()
            ctx.set(dut.advance, 1)
            await ctx.tick()
            ctx.set(dut.advance, 0)
            order.append((ctx.get(dut.step), StepKind(ctx.get(dut.desc.kind))))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    expected = [(i, s.kind) for i, s in enumerate(program.steps)]
    assert order == expected + expected
