"""Requantizer, codebook decoder, bypass add and global pool against the golden executor's arithmetic."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from firebrick.hw.codebook_decoder import CodebookDecoder
from firebrick.hw.params import ArrayParams
from firebrick.hw.requantize import Requantizer, shift_range
from firebrick.hw.vector_ops import BypassAdd, GlobalPoolUnit
from firebrick.quant.fixed_point import round_shift, wrap

PARAMS = ArrayParams(acc_bits=24)


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def clip_reference(value, shift, lo, hi):
    return int(np.clip(round_shift(np.array([value]), shift)[0], lo, hi))


def test_requantizer_matches_the_executor_in_every_corner():
    dut = Requantizer(PARAMS)
    rng = np.random.default_rng(0)
    low, high = shift_range(PARAMS)
    cases = [(2**23 - 1, 2**23 - 1, 0, -128, 127), (-(2**23), -1, 0, -128, 127), (5, 0, 1, 0, 255), (-5, 0, 1, -128, 127),
             (7, 0, 2, 0, 255), (-6, 0, 2, -128, 127), (3, 0, low, -128, 127), (-1, 0, low, -128, 127), (0, 0, low, -128, 127),
             (123456, 0, high, -128, 127), (-123456, 0, high, -128, 127)]
    for _ in range(400):
        lo, hi = [(-128, 127), (0, 255), (0, 127), (-8, 7), (0, 15)][rng.integers(5)]
        cases.append((int(rng.integers(-(2**23), 2**23)), int(rng.integers(-(2**20), 2**20)), int(rng.integers(low, high + 1)), lo, hi))

    async def bench(ctx):
        for acc, bias, shift, lo, hi in cases:
            ctx.set(dut.acc, acc)
            ctx.set(dut.bias, bias)
            ctx.set(dut.shift, shift)
            ctx.set(dut.lo, lo)
            ctx.set(dut.hi, hi)
            ctx.set(dut.valid, 1)
            await ctx.tick()
            await ctx.tick()
            total = int(wrap(np.array([acc + bias]), 24)[0])
            assert ctx.get(dut.out_valid)
            assert ctx.get(dut.out) == clip_reference(total, shift, lo, hi), (acc, bias, shift, lo, hi)

    run(dut, bench)


def test_codebook_decoder_looks_up_every_lane():
    dut = CodebookDecoder(index_bits=3, weight_bits=8, lanes=4)
    table = [-128, -3, 0, 1, 7, 50, 99, 127]

    async def bench(ctx):
        for index, weight in enumerate(table):
            ctx.set(dut.write_enable, 1)
            ctx.set(dut.write_index, index)
            ctx.set(dut.write_weight, weight)
            await ctx.tick()
        ctx.set(dut.write_enable, 0)
        rng = np.random.default_rng(1)
        for _ in range(20):
            indices = [int(i) for i in rng.integers(0, 8, 4)]
            ctx.set(dut.index, indices)
            await ctx.delay(1e-9)
            assert [ctx.get(dut.weight[lane]) for lane in range(4)] == [table[i] for i in indices]
            await ctx.tick()

    run(dut, bench)


def test_codebook_decoder_checks_its_parameters():
    with pytest.raises(ValueError, match="codebook index bits must be an integer in 1..8, not 9"):
        CodebookDecoder(index_bits=9, weight_bits=8, lanes=1)


def test_bypass_add_matches_the_executor():
    lanes = 4
    dut = BypassAdd(PARAMS, lanes)
    rng = np.random.default_rng(2)

    async def bench(ctx):
        for _ in range(200):
            a = rng.integers(-256, 256, lanes)
            b = rng.integers(-256, 256, lanes)
            align_a, align_b = int(rng.integers(0, 6)), int(rng.integers(0, 6))
            shift = int(rng.integers(-4, 9))
            lo, hi = [(-128, 127), (0, 255)][rng.integers(2)]
            for name, value in (("align_a", align_a), ("align_b", align_b), ("shift", shift), ("lo", lo), ("hi", hi)):
                ctx.set(getattr(dut, name), value)
            ctx.set(dut.a, [int(v) for v in a])
            ctx.set(dut.b, [int(v) for v in b])
            ctx.set(dut.valid, 1)
            await ctx.tick()
            total = (a << align_a) + (b << align_b)
            expected = np.clip(round_shift(total, shift), lo, hi)
            assert [ctx.get(dut.out[lane]) for lane in range(lanes)] == expected.tolist()

    run(dut, bench)


@pytest.mark.parametrize("area, in_frac, out_frac", [(16, 5, 3), (49, 4, 4), (4, 0, 2)])
def test_global_pool_unit_matches_the_executor(area, in_frac, out_frac):
    from firebrick.quant.quantize import _pool_params

    lanes = 4
    multiplier, shift = _pool_params(area, in_frac, out_frac)
    dut = GlobalPoolUnit(PARAMS, lanes)
    rng = np.random.default_rng(area)
    channels = [rng.integers(0, 256, area) for _ in range(3)]
    results = []

    async def bench(ctx):
        ctx.set(dut.multiplier, multiplier)
        ctx.set(dut.shift, shift)
        ctx.set(dut.lo, -128)
        ctx.set(dut.hi, 127)
        for values in channels:
            chunks = [values[i : i + lanes] for i in range(0, area, lanes)]
            for n, chunk in enumerate(chunks):
                ctx.set(dut.x, [int(v) for v in chunk] + [99] * (lanes - len(chunk)))  # junk in masked lanes
                ctx.set(dut.mask, (1 << len(chunk)) - 1)
                ctx.set(dut.valid, 1)
                ctx.set(dut.last, n == len(chunks) - 1)
                await ctx.tick()
                if ctx.get(dut.out_valid):
                    results.append(ctx.get(dut.out))
            ctx.set(dut.valid, 0)
        for _ in range(2):
            await ctx.tick()
            if ctx.get(dut.out_valid):
                results.append(ctx.get(dut.out))

    run(dut, bench)
    expected = [int(np.clip(round_shift(np.array([v.sum() * multiplier]), shift)[0], -128, 127)) for v in channels]
    assert results == expected
