"""Lane walkers against the reference model: strides, padding, widths below and above the lane count, bases."""

import pytest
from amaranth.sim import Simulator

from firebrick.hw.latency import prefetch_cycles
from firebrick.hw.program import ProgramWidths, raster_walk, walk_layout
from firebrick.hw.raster_lanes import RasterLanes, lane_positions

WIDTHS = ProgramWidths(address=12, row_offset=3, coord=6, count=10, weight_address=4, bias_address=4, codebook_address=1, drain=4, steps=2)


def walk_const(walk):
    return walk_layout(WIDTHS).const({f: getattr(walk, f) for f in walk_layout(WIDTHS).members})


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def positions(ctx, dut, lanes):
    p = dut.positions
    return [(bool(ctx.get(p.valid[c])), ctx.get(p.origin[c]), ctx.get(p.row0[c]), ctx.get(p.col0[c])) for c in range(lanes)]


@pytest.mark.parametrize("lanes, width, height, stride, pad, pitch", [
    (4, 8, 3, 1, 0, 8), (4, 3, 5, 1, 1, 3), (8, 4, 4, 2, 1, 12), (8, 16, 2, 2, 0, 32), (4, 5, 3, 1, 0, 7), (2, 1, 5, 1, 1, 1),
])
def test_lanes_follow_their_pixels(lanes, width, height, stride, pad, pitch):
    dut = RasterLanes(lanes=lanes, widths=WIDTHS)
    walk = raster_walk(width=width, pixels=width * height, stride=stride, pad=pad, pitch=pitch, lanes=lanes, base=100)
    other = raster_walk(width=7, pixels=21, stride=1, pad=0, pitch=9, lanes=lanes, base=5)

    async def bench(ctx):
        ctx.set(dut.walk, walk_const(other))  # the step before: its constants must not leak into the next's starts
        ctx.set(dut.next_walk, walk_const(walk))
        # the start chain settles lane by lane: lane c's start is ready c + 1 cycles on (the accelerator adds the
        # sequencer's register and its set-up cycle: prefetch_cycles)
        assert prefetch_cycles(lanes) == lanes + 2
        await ctx.tick().repeat(lanes)
        ctx.set(dut.control.load, 1)
        await ctx.tick()
        ctx.set(dut.control.load, 0)
        ctx.set(dut.walk, walk_const(walk))
        for start in range(0, width * height + lanes, lanes):
            assert positions(ctx, dut, lanes) == lane_positions(walk, lanes, start), start
            ctx.set(dut.control.advance, 1)
            await ctx.tick()
            ctx.set(dut.control.advance, 0)
        ctx.set(dut.control.reset, 1)
        ctx.set(dut.control.base, 37)  # the next channel: the same lanes, 37 words on
        await ctx.tick()
        ctx.set(dut.control.reset, 0)
        expected = [(v, o + 37, r, c) for v, o, r, c in lane_positions(walk, lanes, 0)]
        assert positions(ctx, dut, lanes) == expected

    run(dut, bench)


def test_the_walk_constants_need_no_division_in_hardware():
    walk = raster_walk(width=3, pixels=9, stride=2, pad=1, pitch=7, lanes=8, base=0)
    # 8 lanes on a 3-wide map: every advance moves 2 rows and 2 columns on, or 3 rows and -1 column when it wraps
    assert (walk.row_step, walk.row_step_wrap, walk.col_step, walk.col_step_wrap) == (4, 6, 4, -2)
    assert walk.origin0 == -7 - 1 and walk.slack0 == 2 - 3
    with pytest.raises(ValueError, match="raster lanes must be a positive integer, not 0"):
        RasterLanes(lanes=0, widths=WIDTHS)
