"""cocotb unit bench of the systolic array, on Verilator or Icarus, against numpy tile products.

`run_array_bench` generates the array's Verilog with Amaranth, writes the
stimulus for the bench (FIREBRICK_ARRAY), runs it, and returns every column's
drained (row, value) sequence, so that tests compare it with W @ X per tile.
The bench itself (`array_tiles`) drives one reduction step per cycle.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

from firebrick.hw.packing import pack_lanes, unpack_lane


@cocotb.test()
async def array_tiles(dut):
    spec = np.load(os.environ["FIREBRICK_ARRAY"], allow_pickle=False)
    rows, cols, wbits, xbits, abits = (int(v) for v in spec["shape"])
    row_bits = max((rows - 1).bit_length(), 1)
    # the clock starts low: a rising edge at time 0 would race the initial values of reset-less registers (Icarus)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start(start_high=False))
    dut.rst.value = 1
    dut.ctl.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    outputs: list[list[int]] = []

    async def sample():
        await ReadOnly()
        valid = int(dut.out_valid.value) if dut.out_valid.value.is_resolvable else 0
        if valid:
            # only the valid columns' lanes: the others may still hold reset-less registers' unknown start values
            out, out_row = str(dut.out.value)[::-1], str(dut.out_row.value)[::-1]  # bit i at index i
            for c in range(cols):
                if valid >> c & 1:
                    value = int(out[c * abits:(c + 1) * abits][::-1], 2)
                    row = int(out_row[c * row_bits:(c + 1) * row_bits][::-1], 2)
                    outputs.append([c, row, unpack_lane(value, 0, abits)])

    n_tiles = int(spec["k_lens"].shape[0])
    for t in range(n_tiles):
        weights, acts = spec[f"w{t}"], spec[f"x{t}"]
        k_len = weights.shape[1]
        for k in range(k_len):
            await FallingEdge(dut.clk)
            dut.w.value = pack_lanes(weights[:, k], wbits)
            dut.x.value = pack_lanes(acts[k], xbits)
            dut.ctl.value = 1 | (2 if k == 0 else 0) | (4 if k == k_len - 1 else 0)
            await RisingEdge(dut.clk)
            await sample()
    await FallingEdge(dut.clk)
    dut.ctl.value = 0
    for _ in range(2 * rows + cols + 8):  # the last tile's drain
        await RisingEdge(dut.clk)
        await sample()
    with open(os.environ["FIREBRICK_RESULT"], "w", encoding="utf-8") as f:
        json.dump({"outputs": outputs, "overrun": int(dut.overrun.value)}, f)


def run_array_bench(params, tiles: list[tuple[np.ndarray, np.ndarray]], *, simulator: str, build_dir: Path) -> dict:
    """Run `tiles` (W: rows x K, X: K x cols) through the array's Verilog; returns outputs and overrun."""
    from amaranth.back import verilog

    from firebrick.hw.systolic_array import SystolicArray
    from firebrick.sim.verilator_runner import run_cocotb

    build_dir.mkdir(parents=True, exist_ok=True)
    source = build_dir / "systolic_array.v"
    source.write_text(verilog.convert(SystolicArray(params), name="systolic_array", emit_src=False))
    with tempfile.TemporaryDirectory(prefix="firebrick-array-") as tmp:
        stimulus, result = Path(tmp) / "array.npz", Path(tmp) / "result.json"
        arrays = {f"w{i}": w for i, (w, _) in enumerate(tiles)} | {f"x{i}": x for i, (_, x) in enumerate(tiles)}
        np.savez(stimulus, shape=np.array([params.rows, params.cols, params.weight_bits, params.lane_act_bits, params.acc_bits]),
                 k_lens=np.array([w.shape[1] for w, _ in tiles]), **arrays)
        run_cocotb(verilog=source, toplevel="systolic_array", test_module="firebrick.sim.array_bench",
                   build_dir=build_dir / f"sim_{simulator}", simulator=simulator,
                   extra_env={"FIREBRICK_ARRAY": str(stimulus), "FIREBRICK_RESULT": str(result)})
        return json.loads(result.read_text())
