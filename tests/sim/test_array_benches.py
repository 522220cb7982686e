"""The systolic array's Verilog on two simulators (Verilator and Icarus) through one cocotb bench."""

import shutil

import numpy as np
import pytest

from firebrick.hw.params import ArrayParams
from firebrick.sim.array_bench import run_array_bench


def expected_outputs(tiles, rows, cols):
    out = []
    for c in range(cols):
        for weights, acts in tiles:
            product = weights @ acts
            out += [[c, r, int(product[r, c])] for r in reversed(range(rows))]
    return out


@pytest.mark.parametrize("simulator", [
    "verilator",
    pytest.param("icarus", marks=pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed (.ci/run installs it)")),
])
def test_array_on_each_simulator(simulator, tmp_path):
    params = ArrayParams(rows=4, cols=3)
    rng = np.random.default_rng(7)
    tiles = [(rng.integers(-128, 128, (4, k)), rng.integers(-256, 256, (k, 3))) for k in (4, 6, 4)]
    result = run_array_bench(params, tiles, simulator=simulator, build_dir=tmp_path)
    got = sorted(result["outputs"], key=lambda o: o[0])  # stable: per column, in drain order
    assert got == expected_outputs(tiles, 4, 3)
    assert result["overrun"] == 0
