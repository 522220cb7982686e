"""Banked activation memory: lanes read and write any distinct banks; conflicts are flagged."""

import numpy as np
from amaranth.sim import Simulator

from firebrick.hw.activation_memory import ActivationMemory


def test_lanes_write_then_read_back_through_the_crossbars():
    banks, depth, lanes = 8, 16, 4
    dut = ActivationMemory(banks=banks, depth=depth, lanes=lanes, value_bits=9)
    rng = np.random.default_rng(0)
    reference = {}

    async def bench(ctx):
        for _ in range(60):  # random conflict-free writes
            chosen = rng.choice(banks, lanes, replace=False)
            rows = rng.integers(0, depth, lanes)
            enables = rng.random(lanes) < 0.8
            values = rng.integers(-256, 256, lanes)
            addresses = [int(r) * banks + int(b) for r, b in zip(rows, chosen)]
            ctx.set(dut.write_address, addresses)
            ctx.set(dut.write_data, [int(v) for v in values])
            ctx.set(dut.write_enable, int(sum(int(e) << i for i, e in enumerate(enables))))
            await ctx.tick()
            for a, v, e in zip(addresses, values, enables):
                if e:
                    reference[a] = int(v)
        ctx.set(dut.write_enable, 0)
        known = list(reference)
        for _ in range(60):
            picks = []
            for a in rng.permutation(known):
                if int(a) % banks not in {p % banks for p in picks}:
                    picks.append(int(a))
                if len(picks) == lanes:
                    break
            ctx.set(dut.read_address, picks + [0] * (lanes - len(picks)))
            ctx.set(dut.read_enable, (1 << len(picks)) - 1)
            await ctx.tick()
            ctx.set(dut.read_enable, 0)
            await ctx.delay(1e-9)
            assert [ctx.get(dut.read_data[i]) for i in range(len(picks))] == [reference[a] for a in picks]
        assert not ctx.get(dut.conflict)
        ctx.set(dut.read_address, [3, 3 + banks, 0, 0])
        ctx.set(dut.read_enable, 0b11)
        await ctx.tick()
        assert ctx.get(dut.conflict)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
