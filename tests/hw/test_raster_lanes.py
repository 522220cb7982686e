"""Pixel trackers against a direct computation, for strides, padding, widths below and above the lane count."""

import pytest
from amaranth.sim import Simulator

from firebrick.hw.raster_lanes import RasterLanes, tracker_config


@pytest.mark.parametrize("lanes, width, height, stride, pad, pitch", [
    (4, 8, 3, 1, 0, 8), (4, 3, 5, 1, 1, 3), (8, 4, 4, 2, 1, 12), (8, 16, 2, 2, 0, 32), (4, 5, 3, 1, 0, 7), (2, 1, 5, 1, 1, 1),
])
def test_lanes_follow_their_pixels(lanes, width, height, stride, pad, pitch):
    dut = RasterLanes(lanes)
    pixels = width * height
    config = tracker_config(width=width, pixels=pixels, stride=stride, pad=pad, pitch=pitch, lanes=lanes)

    async def bench(ctx):
        ctx.set(dut.config, config)
        ctx.set(dut.reset, 1)
        await ctx.tick()
        ctx.set(dut.reset, 0)
        for start in range(0, pixels + lanes, lanes):
            for c in range(lanes):
                p = start + c
                assert ctx.get(dut.valid[c]) == (p < pixels)
                if p < pixels:
                    oy, ox = divmod(p, width)
                    row0, col0 = oy * stride - pad, ox * stride - pad
                    assert (ctx.get(dut.row0[c]), ctx.get(dut.col0[c])) == (row0, col0), (p, c)
                    assert ctx.get(dut.origin[c]) == row0 * pitch + col0, (p, c)
            ctx.set(dut.advance, 1)
            await ctx.tick()
            ctx.set(dut.advance, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
