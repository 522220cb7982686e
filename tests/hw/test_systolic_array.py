"""The PE and the systolic array against their reference models in Amaranth's simulator (seeded)."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from firebrick.hw.latency import PE_LATENCY
from firebrick.hw.params import ArrayParams, HardwareParamError
from firebrick.hw.pe import PEModel, ProcessingElement
from firebrick.hw.skew import SkewBuffer
from firebrick.hw.systolic_array import SystolicArray


def run(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def test_pe_matches_its_model_including_wrap():
    params = ArrayParams(acc_bits=16)
    dut = ProcessingElement(params)
    rng = np.random.default_rng(0)
    steps = [(int(rng.integers(-128, 128)), int(rng.integers(-256, 256)), bool(rng.random() < 0.9),
              bool(rng.random() < 0.2), bool(rng.random() < 0.2)) for _ in range(300)]
    model = PEModel(acc_bits=16)

    async def bench(ctx):
        expected = []  # (done, hold) of the model, shown PE_LATENCY cycles after the step's operands
        for w, x, valid, first, last in steps + [(0, 0, False, False, False)] * PE_LATENCY:
            ctx.set(dut.w_in, w)
            ctx.set(dut.x_in, x)
            ctx.set(dut.ctl_in, {"valid": valid, "first": first, "last": last})
            expected.append((model.step(w, x, valid, first, last), model.hold))
            await ctx.tick()
            assert (ctx.get(dut.w_out), ctx.get(dut.x_out)) == (w, x)  # passed on after one cycle
            if len(expected) >= PE_LATENCY:
                finished, hold = expected[-PE_LATENCY]
                assert ctx.get(dut.done) == finished
                if finished:
                    assert ctx.get(dut.hold) == hold

    run(dut, bench)


def test_skew_delays_lane_i_by_i_cycles():
    dut = SkewBuffer(8, 4)
    seen = []

    async def bench(ctx):
        for t in range(10):
            ctx.set(dut.i, [t * 10 + lane for lane in range(4)])
            await ctx.delay(1e-9)
            seen.append([ctx.get(dut.o[lane]) for lane in range(4)])
            await ctx.tick()

    run(dut, bench)
    for t in range(4, 10):
        assert seen[t] == [(t - lane) * 10 + lane for lane in range(4)]


def drive_tiles(params, tiles, gap=0):
    """Stream tiles (W: rows x K, X: K x cols) back to back; collect (cycle, column, row, value) outputs."""
    dut = SystolicArray(params)
    outputs = []
    overrun = []

    async def bench(ctx):
        cycle = 0

        async def step():
            nonlocal cycle
            await ctx.delay(1e-9)
            for c in range(params.cols):
                if ctx.get(dut.out_valid[c]):
                    outputs.append((cycle, c, ctx.get(dut.out_row[c]), ctx.get(dut.out[c])))
            await ctx.tick()
            cycle += 1

        for weights, acts in tiles:
            k_len = weights.shape[1]
            for k in range(k_len):
                ctx.set(dut.w, [int(v) for v in weights[:, k]])
                ctx.set(dut.x, [int(v) for v in acts[k]])
                ctx.set(dut.ctl, {"valid": 1, "first": k == 0, "last": k == k_len - 1})
                await step()
            ctx.set(dut.ctl, {"valid": 0, "first": 0, "last": 0})
            for _ in range(gap):
                await step()
        ctx.set(dut.ctl, {"valid": 0, "first": 0, "last": 0})
        for _ in range(2 * params.rows + params.cols + PE_LATENCY + 4):
            await step()
        overrun.append(ctx.get(dut.overrun))

    run(dut, bench)
    return outputs, overrun[0]


def random_tiles(params, k_lens, seed):
    rng = np.random.default_rng(seed)
    return [
        (rng.integers(-128, 128, (params.rows, k)), rng.integers(-256, 256, (k, params.cols)))
        for k in k_lens
    ]


@pytest.mark.parametrize("rows, cols", [(4, 4), (3, 5), (1, 1)])
def test_array_computes_tile_products_back_to_back(rows, cols):
    params = ArrayParams(rows=rows, cols=cols)
    k_lens = [rows, rows + 3, max(rows, 7), rows]
    tiles = random_tiles(params, k_lens, seed=rows * 10 + cols)
    outputs, overrun = drive_tiles(params, tiles)
    assert not overrun
    for c in range(cols):
        got = [(row, value) for _, col, row, value in outputs if col == c]
        expected = []
        for weights, acts in tiles:
            product = weights @ acts
            expected += [(r, int(product[r, c])) for r in reversed(range(rows))]
        assert got == expected, f"column {c}"
    # the drain keeps pace: every column emits one value per cycle while draining, staggered by column
    starts = {c: min(cycle for cycle, col, _, _ in outputs if col == c) for c in range(cols)}
    assert all(starts[c] == starts[0] + c for c in range(cols))
    # the last step enters at k-1, reaches the bottom row (rows - 1), is done PE_LATENCY later, then emitted
    assert starts[0] == k_lens[0] - 1 + rows - 1 + PE_LATENCY + 1


def test_tiles_shorter_than_the_rows_overrun_the_drain():
    params = ArrayParams(rows=4, cols=2)
    _, overrun = drive_tiles(params, random_tiles(params, [2, 2, 2], seed=1))
    assert overrun
    outputs, overrun = drive_tiles(params, random_tiles(params, [2, 2, 2], seed=1), gap=2)  # padded to 4 steps
    assert not overrun and len(outputs) == 3 * 4 * 2


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": 0}, "array rows must be a positive integer, not 0"),
    ({"cols": 2.5}, "array cols must be a positive integer, not 2.5"),
    ({"act_bits": 1}, "act bits must be an integer in 2..16, not 1"),
    ({"acc_bits": 64}, "acc bits must be an integer in 16..48, not 64"),
    ({"dataflow": "diagonal"}, "dataflow must be one of output_stationary, weight_stationary, not 'diagonal'"),
    ({"dataflow": "weight_stationary"}, "dataflow 'weight_stationary' is not implemented yet; use 'output_stationary'"),
])
def test_parameters_are_validated_with_exact_messages(kwargs, message):
    with pytest.raises(HardwareParamError) as exc:
        ArrayParams(**kwargs)
    assert str(exc.value) == message
