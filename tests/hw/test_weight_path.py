"""The weight path: a weight word (or its codebook indices, decoded) reaches the array WEIGHT_LATENCY after its address."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from firebrick.hw.latency import FETCH_LATENCY, WEIGHT_LATENCY
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths
from firebrick.boards.board import load_board
from firebrick.boards.fit import blocks_for
from firebrick.hw.weight_path import RAMB36_DEPTH, WeightPath, chunk_words, ramb36_blocks

WIDTHS = ProgramWidths(address=8, row_offset=3, coord=5, count=8, weight_address=14, bias_address=3, codebook_address=5, drain=4, steps=2)


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("codebook_bits", [None, 3])
def test_weights_arrive_in_step_with_the_activations(codebook_bits):
    rows, depth = 16, 9000
    params = ArrayParams(rows=rows, cols=2)
    rng = np.random.default_rng(9)
    # several chunks of the weight memory, so that the read crosses chunks: 3 of 4096 words (8 bits), 2 of 8192 (3)
    assert depth > chunk_words(rows * (codebook_bits or 8), depth)
    if codebook_bits:
        books = rng.integers(-128, 128, 2 * 8)  # two layers' tables of 8 entries
        words = rng.integers(0, 8, (depth, rows))
        decoded = books[8 + words]  # the second layer's table
    else:
        books = None
        words = rng.integers(-128, 128, (depth, rows))
        decoded = words
    dut = WeightPath(params, WIDTHS, weights=words, codebook_bits=codebook_bits, codebooks=books)
    addresses = [int(a) for a in rng.integers(0, depth, 60)]
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


@pytest.mark.parametrize("word_bits", [8, 12, 48, 64, 128, 256])
@pytest.mark.parametrize("words", [1, 511, 1785, 9000, 40000, 157772])
def test_chunks_take_no_more_blocks_than_the_fit_check_counts(word_bits, words):
    depth = chunk_words(word_bits, words)
    assert depth in RAMB36_DEPTH.values()
    full, rest = divmod(words, depth)
    chunked = full * ramb36_blocks(depth, word_bits) + (ramb36_blocks(rest, word_bits) if rest else 0)
    xilinx = load_board("arty_a7").resources.block_ram
    assert chunked <= blocks_for(words, word_bits, xilinx)  # the fit check never counts fewer than the chunks take
    # no other chunk depth takes fewer blocks
    for other in RAMB36_DEPTH.values():
        f, r = divmod(words, other)
        assert chunked <= f * ramb36_blocks(other, word_bits) + (ramb36_blocks(r, word_bits) if r else 0)


def test_zynqnet_weights_chunk_at_4096_words():
    # 16 rows of 8 bits: 15 RAMB36 side by side at 4096 x 9, not 2 at 512 x 72 (618 blocks, 309 chunks)
    assert chunk_words(128, 157772) == 4096
    assert 38 * 15 + ramb36_blocks(157772 - 38 * 4096, 128) == 580
