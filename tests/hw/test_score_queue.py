"""The score queue: every score out once, in order, the last one marked; the controller held back only while it is full."""

import numpy as np
import pytest
from amaranth import signed
from amaranth.sim import Simulator

from firebrick.hw.latency import POOL_SCORE_CYCLES, SCORE_QUEUE_CAPACITY, SCORE_QUEUE_LATENCY
from firebrick.hw.score_queue import ScoreQueue, score_queue_model

#: from a reservation to its score reaching the queue (the controller's and the pool's pipelines)
ARRIVAL = POOL_SCORE_CYCLES - SCORE_QUEUE_LATENCY


def run_queue(scores: int, group_cycles: int, ready_probability: float, seed: int, cycles: int = 1500):
    """The controller's side as the pool step drives it: a reservation every `group_cycles` cycles while not full,
    each score arriving ARRIVAL cycles after its reservation; the stream ready at random."""
    dut = ScoreQueue(signed(9), 12)
    rng = np.random.default_rng(seed)
    ready = [bool(rng.random() < ready_probability) for _ in range(cycles)]
    made, sent, values, lasts = [], [], [], []

    async def bench(ctx):
        ctx.set(dut.start, 1)
        ctx.set(dut.scores_less_one, scores - 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        due, next_wanted = {}, 0
        for cycle in range(cycles):
            reserve = len(made) < scores and cycle >= next_wanted and not ctx.get(dut.full)
            ctx.set(dut.reserve, reserve)
            if reserve:
                due[cycle + ARRIVAL] = (len(made) * 7) % 500 - 250  # the score's value: which reservation it is
                made.append(cycle)
                next_wanted = cycle + group_cycles
            ctx.set(dut.score_valid, cycle in due)
            ctx.set(dut.score, due.get(cycle, 0))
            ctx.set(dut.scores.ready, ready[cycle])
            await ctx.delay(1e-9)
            if ready[cycle] and ctx.get(dut.scores.valid):
                sent.append(cycle)
                values.append(ctx.get(dut.scores.payload))
                lasts.append(ctx.get(dut.last))
                assert ctx.get(dut.sent_last) == lasts[-1]
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return made, sent, values, lasts, ready


@pytest.mark.parametrize("group_cycles", [1, 2, 5])
def test_an_always_ready_stream_never_holds_the_pool_back(group_cycles):
    made, sent, values, lasts, _ = run_queue(60, group_cycles, 1.0, seed=0)
    assert made == [k * group_cycles for k in range(60)]  # one reservation per channel, never delayed
    # each score out POOL_SCORE_CYCLES after its channel's last read: what the schedule counts
    assert sent == [t + POOL_SCORE_CYCLES for t in made]
    assert values == [(k * 7) % 500 - 250 for k in range(60)] and lasts == [0] * 59 + [1]


@pytest.mark.parametrize("group_cycles,ready_probability,seed", [(1, 0.3, 1), (1, 0.8, 2), (3, 0.2, 3), (4, 0.1, 4)])
def test_under_back_pressure_scores_keep_their_order_and_match_the_model(group_cycles, ready_probability, seed):
    made, sent, values, lasts, ready = run_queue(80, group_cycles, ready_probability, seed)
    assert values == [(k * 7) % 500 - 250 for k in range(80)] and lasts == [0] * 79 + [1]
    assert any(b - a > group_cycles for a, b in zip(made, made[1:]))  # the queue did fill and hold the pool back
    assert (made, sent) == score_queue_model(80, group_cycles, ready, SCORE_QUEUE_CAPACITY, ARRIVAL)
