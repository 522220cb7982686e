"""The conv address generator's Verilog on Verilator and Icarus: stride 2 over an odd map, padding at every border."""

import shutil

import pytest

from firebrick.hw.program import ProgramWidths, raster_walk
from firebrick.sim.lanes_bench import run_lanes_bench


@pytest.mark.parametrize("simulator", [
    "verilator",
    pytest.param("icarus", marks=pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed (.ci/run installs it)")),
])
def test_lane_windows_on_each_simulator(simulator, tmp_path):
    lanes, width, height, stride, pad, pitch = 4, 4, 4, 2, 1, 9  # output 4x4 read from a 7x7 map of pitch 9
    walk = raster_walk(width=width, pixels=width * height, stride=stride, pad=pad, pitch=pitch, lanes=lanes)
    widths = ProgramWidths(address=10, row_offset=3, coord=5, count=8, weight_address=4, bias_address=4, codebook_address=1, drain=4, steps=2)
    seen = run_lanes_bench(lanes, walk, widths, steps=5, simulator=simulator, build_dir=tmp_path)
    for step, lane_values in enumerate(seen):
        for c, (valid, origin, row0, col0) in enumerate(lane_values):
            p = step * lanes + c
            assert valid == (p < width * height)
            if valid:
                oy, ox = divmod(p, width)
                assert (row0, col0) == (oy * stride - pad, ox * stride - pad)  # -1 at the top and left borders
                assert origin == row0 * pitch + col0
