"""The weight path: a weight word (or its codebook indices, decoded) reaches the array WEIGHT_LATENCY after its address."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from firebrick.hw.latency import FETCH_LATENCY, WEIGHT_LATENCY
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths
from firebrick.hw.weight_path import WeightPath

WIDTHS = ProgramWidths(address=8, row_offset=3, coord=5, count=8, weight_address=11, bias_address=3, codebook_address=5, drain=4, steps=2)


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("codebook_bits", [None, 3])
def test_weights_arrive_in_step_with_the_activations(codebook_bits):
    rows = 4
    params = ArrayParams(rows=rows, cols=2)
    rng = np.random.default_rng(9)
    if codebook_bits:
        books = rng.integers(-128, 128, 2 * 8)  # two layers' tables of 8 entries
        words = rng.integers(0, 8, (1200, rows))  # three chunks of the weight memory
        decoded = books[8 + words]  # the second layer's table
    else:
        books = None
        words = rng.integers(-128, 128, (1200, rows))
        decoded = words
    dut = WeightPath(params, WIDTHS, weights=words, codebook_bits=codebook_bits, codebooks=books)
    addresses = [int(a) for a in rng.integers(0, 1200, 60)]
    got = []

    async def bench(ctx):
        if codebook_bits:  # load the second layer's table as the controller's TABLE state does
            ctx.set(dut.codebook_base, 8)
            ctx.set(dut.table_load, 1)
            for i in range(2**codebook_bits + 1):
                ctx.set(dut.table_index, i)
                await ctx.tick()
            ctx.set(dut.table_load, 0)
        for t in range(len(addresses) + WEIGHT_LATENCY):
            ctx.set(dut.weight_address, addresses[t] if t < len(addresses) else 0)
            await ctx.tick()
            got.append([ctx.get(dut.w[r]) for r in range(rows)])

    run(dut, bench)
    assert WEIGHT_LATENCY == FETCH_LATENCY
    for t, a in enumerate(addresses):
        assert got[t + WEIGHT_LATENCY - 1] == [int(v) for v in decoded[a]], t
