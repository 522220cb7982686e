"""Banked activation memory: lanes read and write any distinct banks, with the named latencies; conflicts are flagged."""

import numpy as np
from amaranth.sim import Simulator

from firebrick.hw.activation_memory import ActivationMemory
from firebrick.hw.latency import ACTIVATION_READ_LATENCY, WRITE_LATENCY


def test_lanes_write_then_read_back_through_the_crossbars():
    banks, depth, lanes = 8, 16, 4
    dut = ActivationMemory(banks=banks, depth=depth, lanes=lanes, value_bits=9, address_bits=7, write_ports=("a", "b"))
    rng = np.random.default_rng(0)
    reference = {}

    async def bench(ctx):
        for n in range(60):  # random conflict-free writes, alternating between the two write ports
            port = dut.a if n % 2 else dut.b
            chosen = rng.choice(banks, lanes, replace=False)
            rows = rng.integers(0, depth, lanes)
            enables = rng.random(lanes) < 0.8
            values = rng.integers(-256, 256, lanes)
            addresses = [int(r) * banks + int(b) for r, b in zip(rows, chosen)]
            ctx.set(port.addr, addresses)
            ctx.set(port.data, [int(v) for v in values])
            ctx.set(port.en, int(sum(int(e) << i for i, e in enumerate(enables))))
            await ctx.tick()
            ctx.set(port.en, 0)
            for a, v, e in zip(addresses, values, enables):
                if e:
                    reference[a] = int(v)
        await ctx.tick().repeat(WRITE_LATENCY - 1)  # the last write is readable from here
        known = list(reference)
        for _ in range(60):
            picks = []
            for a in rng.permutation(known):
                if int(a) % banks not in {p % banks for p in picks}:
                    picks.append(int(a))
                if len(picks) == lanes:
                    break
            ctx.set(dut.read.addr, picks + [0] * (lanes - len(picks)))
            ctx.set(dut.read.en, (1 << len(picks)) - 1)
            await ctx.tick()
            ctx.set(dut.read.en, 0)
            await ctx.tick().repeat(ACTIVATION_READ_LATENCY - 1)
            assert [ctx.get(dut.read.data[i]) for i in range(len(picks))] == [reference[a] for a in picks]
        assert not ctx.get(dut.conflict)
        ctx.set(dut.read.addr, [3, 3 + banks, 0, 0])
        ctx.set(dut.read.en, 0b11)
        await ctx.tick()
        assert ctx.get(dut.conflict)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_a_write_is_readable_write_latency_cycles_after_it_is_presented():
    dut = ActivationMemory(banks=4, depth=8, lanes=2, value_bits=9, address_bits=5)
    seen = []

    async def bench(ctx):
        ctx.set(dut.write.addr, [5, 0])
        ctx.set(dut.write.data, [77, 0])
        ctx.set(dut.write.en, 0b01)
        ctx.set(dut.read.addr, [5, 0])
        ctx.set(dut.read.en, 0b01)  # read the same word every cycle from the write's cycle on
        for t in range(6):
            await ctx.tick()
            ctx.set(dut.write.en, 0)
            seen.append(ctx.get(dut.read.data[0]))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # a read presented at t shows ACTIVATION_READ_LATENCY later: the first that sees 77 was presented at WRITE_LATENCY
    assert seen.index(77) == WRITE_LATENCY + ACTIVATION_READ_LATENCY - 1
