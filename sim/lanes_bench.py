"""cocotb unit bench of the conv address generator (the per-lane pixel trackers) on Verilator or Icarus.

`run_lanes_bench` generates `RasterLanes` Verilog, gives it a map's walk
(stride, padding, pitch) as the next step's, lets the start chain settle,
loads it and advances it tile by tile; the bench records every lane's
(valid, origin, row0, col0), which tests compare with the direct computation
from the pixel index.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer

from firebrick.hw.packing import unpack_lane


@cocotb.test()
async def lanes(dut):
    spec = json.loads(Path(os.environ["FIREBRICK_LANES"]).read_text())
    n, steps = spec["lanes"], spec["steps"]
    # the clock starts low: a rising edge at time 0 would race the initial values of reset-less registers (Icarus)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start(start_high=False))
    await Timer(1, unit="ns")
    dut.rst.value = 1
    dut.walk.value = spec["walk_word"]
    dut.next_walk.value = spec["walk_word"]
    dut.control__load.value = 0
    dut.control__reset.value = 0
    dut.control__advance.value = 0
    dut.control__base.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await ClockCycles(dut.clk, n + 1)  # the start chain settles, one lane a cycle
    await FallingEdge(dut.clk)
    dut.control__load.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.control__load.value = 0
    seen = []
    for _ in range(steps):
        await ReadOnly()
        valid, origin = int(dut.positions__valid.value), int(dut.positions__origin.value)
        row0, col0 = int(dut.positions__row0.value), int(dut.positions__col0.value)
        seen.append([
            [valid >> c & 1, unpack_lane(origin, c * spec["address_bits"], spec["address_bits"]),
             unpack_lane(row0, c * spec["coord_bits"], spec["coord_bits"]),
             unpack_lane(col0, c * spec["coord_bits"], spec["coord_bits"])]
            for c in range(n)
        ])
        await FallingEdge(dut.clk)
        dut.control__advance.value = 1
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.control__advance.value = 0
    Path(os.environ["FIREBRICK_RESULT"]).write_text(json.dumps(seen))


def run_lanes_bench(lanes: int, walk, widths, steps: int, *, simulator: str, build_dir: Path) -> list:
    """Walk `walk` (a `RasterWalk`) for `steps` advances; every lane's (valid, origin, row0, col0) per step."""
    import dataclasses

    from amaranth.back import verilog

    from firebrick.hw.program import walk_layout
    from firebrick.hw.raster_lanes import RasterLanes
    from firebrick.sim.verilator_runner import run_cocotb

    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / "raster_lanes.v"
    source.write_text(verilog.convert(RasterLanes(lanes=lanes, widths=widths), name="raster_lanes", emit_src=False))
    word = walk_layout(widths).const(dataclasses.asdict(walk)).as_value().value
    with tempfile.TemporaryDirectory(prefix="firebrick-lanes-") as tmp:
        stimulus, result = Path(tmp) / "lanes.json", Path(tmp) / "result.json"
        stimulus.write_text(json.dumps({"lanes": lanes, "steps": steps, "walk_word": word,
                                        "address_bits": widths.address + 1, "coord_bits": widths.coord + 2}))
        run_cocotb(verilog=source, toplevel="raster_lanes", test_module="firebrick.sim.lanes_bench",
                   build_dir=build_dir / f"sim_{simulator}", simulator=simulator,
                   extra_env={"FIREBRICK_LANES": str(stimulus), "FIREBRICK_RESULT": str(result)})
        return json.loads(result.read_text())
