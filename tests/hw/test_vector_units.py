"""The requantizer core, codebook decoder, bypass add and global pool against the golden executor's arithmetic."""

import numpy as np
import pytest
from amaranth import signed
from amaranth.sim import Simulator

from firebrick.hw.bypass_add import BypassAdd
from firebrick.hw.codebook_decoder import CodebookDecoder
from firebrick.hw.global_pool import GlobalPool
from firebrick.hw.latency import ADD_LATENCY, FETCH_LATENCY, POOL_LATENCY, ROUND_SHIFT_CLIP_LATENCY
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths
from firebrick.hw.requantize import conv_shift_range
from firebrick.hw.round_shift_clip import RoundShiftClip, round_shift_clip, rounding_constant
from firebrick.quant.fixed_point import round_shift

PARAMS = ArrayParams(acc_bits=24)
WIDTHS = ProgramWidths(address=10, row_offset=3, coord=5, count=8, weight_address=4, bias_address=4, codebook_address=1, drain=4, steps=2)


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_round_shift_clip_matches_the_executor_in_every_corner():
    low, high = conv_shift_range(PARAMS)
    dut = RoundShiftClip(value_bits=24, max_right=high, max_left=-low, out_bits=10, shift_shape=signed(7), )
    rng = np.random.default_rng(0)
    cases = [(2**23 - 1, 0, -128, 127), (-(2**23), 0, -128, 127), (5, 1, 0, 255), (-5, 1, -128, 127), (7, 2, 0, 255),
             (-6, 2, -128, 127), (3, low, -128, 127), (-1, low, -128, 127), (0, low, -128, 127), (2**23 - 1, high, -128, 127),
             (-(2**23), high, -128, 127), (-(2**22), high - 1, -128, 127)]
    for _ in range(400):
        lo, hi = [(-128, 127), (0, 255), (0, 127), (-8, 7), (0, 15)][rng.integers(5)]
        cases.append((int(rng.integers(-(2**23), 2**23)), int(rng.integers(low, high + 1)), lo, hi))

    async def bench(ctx):
        for value, shift, lo, hi in cases:  # each case a layer of its own: its constants settle while nothing flows
            ctx.set(dut.valid, 0)
            for name, v in (("value", value), ("shift", shift), ("round", rounding_constant(shift)), ("lo", lo), ("hi", hi)):
                ctx.set(getattr(dut, name), v)
            await ctx.tick()
            ctx.set(dut.valid, 1)
            await ctx.tick().repeat(ROUND_SHIFT_CLIP_LATENCY)
            expected = int(np.clip(round_shift(np.array([value]), shift)[0], lo, hi))
            assert ctx.get(dut.out_valid) and ctx.get(dut.out) == expected, (value, shift, lo, hi)
            assert round_shift_clip(value, shift, lo, hi) == expected  # the reference model is the executor's

    run(dut, bench)


def test_round_shift_clip_pipeline_with_layer_constants():
    """One layer's constants, values streaming: each result ROUND_SHIFT_CLIP_LATENCY cycles after its value."""
    low, high = conv_shift_range(PARAMS)
    for shift, lo, hi in [(7, 0, 255), (1, -128, 127), (0, -128, 127), (-3, -128, 127), (high, -128, 127), (low, 0, 255)]:
        dut = RoundShiftClip(value_bits=24, max_right=high, max_left=-low, out_bits=10, shift_shape=signed(7), )
        values = [int(v) for v in np.random.default_rng(shift + 50).integers(-(2**23), 2**23, 60)] + [2**23 - 1, -(2**23), 0, 1, -1]
        seen = []

        async def bench(ctx):
            ctx.set(dut.shift, shift)
            ctx.set(dut.round, rounding_constant(shift))
            ctx.set(dut.lo, lo)
            ctx.set(dut.hi, hi)
            await ctx.tick()  # the layer's shift settles before its first value
            for t in range(len(values) + ROUND_SHIFT_CLIP_LATENCY):
                ctx.set(dut.value, values[t] if t < len(values) else 0)
                ctx.set(dut.valid, t < len(values))
                await ctx.tick()
                if ctx.get(dut.out_valid):
                    seen.append((t, ctx.get(dut.out)))

        run(dut, bench)
        expected = [int(np.clip(round_shift(np.array([v]), shift)[0], lo, hi)) for v in values]
        assert [v for _, v in seen] == expected, shift
        assert seen[0][0] == ROUND_SHIFT_CLIP_LATENCY - 1  # visible after the 3rd edge from its value


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


def operands(x, **tag):
    return {"x": [int(v) for v in x], "tag": {"conv": {"valid": 0, "first": 0, "last": 0},
                                              "pool": {"valid": tag.get("pool_valid", 0), "last": tag.get("pool_last", 0)},
                                              "add_a": tag.get("add_a", 0), "add_b": tag.get("add_b", 0)}}


def test_bypass_add_matches_the_executor_and_writes_at_the_output_walkers_lanes():
    params = ArrayParams(rows=4, cols=4, acc_bits=24)
    dut = BypassAdd(params, WIDTHS)
    rng = np.random.default_rng(2)
    groups = []
    for g in range(40):
        a, b = rng.integers(-256, 256, 4), rng.integers(-256, 256, 4)
        groups.append((a, b, [int(v) for v in rng.integers(0, 900, 4)], int(rng.integers(0, 16))))
    align_a, align_b, shift, lo, hi = 3, 0, 2, -128, 127
    writes = []

    async def bench(ctx):
        for name, value in (("align_a", align_a), ("align_b", align_b), ("shift", shift), ("round", rounding_constant(shift)),
                            ("lo", lo), ("hi", hi)):
            ctx.set(getattr(dut, name), value)
        # as in the accelerator: the inputs read on alternate cycles arrive FETCH_LATENCY later; the output
        # walker shows a group's positions when its result is due (the controller runs it that far behind)
        from firebrick.hw.latency import FETCH_LATENCY
        schedule = {}
        for g in range(len(groups)):
            schedule[2 * g] = ("read_a", None)
            schedule[2 * g + 1] = ("read_b", None)
        due = {2 * g + FETCH_LATENCY + ADD_LATENCY: g for g in range(len(groups))}
        for t in range(2 * len(groups) + FETCH_LATENCY + ADD_LATENCY + 2):
            if t in due:
                ctx.set(dut.positions, groups[due[t]][2])
                ctx.set(dut.lane_valid, groups[due[t]][3])
            arriving = schedule.get(t - FETCH_LATENCY, (None, None))[0]
            g = (t - FETCH_LATENCY) // 2
            if arriving == "read_a":
                ctx.set(dut.operands.payload, operands(groups[g][0], add_a=1))
            elif arriving == "read_b":
                ctx.set(dut.operands.payload, operands(groups[g][1], add_b=1))
            ctx.set(dut.operands.valid, arriving is not None)
            await ctx.tick()
            en = ctx.get(dut.write.en)
            for lane in range(4):
                if en >> lane & 1:
                    writes.append((t, ctx.get(dut.write.addr[lane]), ctx.get(dut.write.data[lane])))

    run(dut, bench)
    expected = []
    for g, (a, b, pos, valid) in enumerate(groups):
        total = (a << align_a) + (b << align_b)
        out = np.clip(round_shift(total, shift), lo, hi)
        for lane in range(4):
            if valid >> lane & 1:
                # b's lanes are visible at 2g + 1 + FETCH_LATENCY; the result ADD_LATENCY after, read after that tick
                expected.append((2 * g + 1 + FETCH_LATENCY + ADD_LATENCY - 1, pos[lane], int(out[lane])))
    assert writes == expected


@pytest.mark.parametrize("area, in_frac, out_frac", [(16, 5, 3), (49, 4, 4), (4, 0, 2)])
def test_global_pool_matches_the_executor(area, in_frac, out_frac):
    from firebrick.quant.quantize import _pool_params

    params = ArrayParams(rows=4, cols=4, acc_bits=24)
    lanes = 4
    multiplier, shift = _pool_params(area, in_frac, out_frac)
    dut = GlobalPool(params)
    rng = np.random.default_rng(area)
    channels = [rng.integers(0, 256, area) for _ in range(3)]
    results = []

    async def bench(ctx):
        for name, value in (("multiplier", multiplier), ("shift", shift), ("round", rounding_constant(shift)), ("lo", -128), ("hi", 127)):
            ctx.set(getattr(dut, name), value)
        t = 0
        last_cycle = []
        for values in channels:
            chunks = [values[i : i + lanes] for i in range(0, area, lanes)]
            for n, chunk in enumerate(chunks):  # lanes beyond the map arrive as zeros (the fetch masks them)
                ctx.set(dut.operands.payload, operands(list(chunk) + [0] * (lanes - len(chunk)), pool_valid=1,
                                                        pool_last=n == len(chunks) - 1))
                ctx.set(dut.operands.valid, 1)
                await ctx.tick()
                if n == len(chunks) - 1:
                    last_cycle.append(t)
                t += 1
                if ctx.get(dut.score_valid):
                    results.append((t - 1, ctx.get(dut.score)))
        ctx.set(dut.operands.valid, 0)
        for _ in range(POOL_LATENCY + 1):
            await ctx.tick()
            t += 1
            if ctx.get(dut.score_valid):
                results.append((t - 1, ctx.get(dut.score)))
        assert [c for c, _ in results] == [c + POOL_LATENCY - 1 for c in last_cycle]

    run(dut, bench)
    expected = [int(np.clip(round_shift(np.array([v.sum() * multiplier]), shift)[0], -128, 127)) for v in channels]
    assert [v for _, v in results] == expected
