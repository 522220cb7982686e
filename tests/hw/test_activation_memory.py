"""Banked activation memory: lanes read and write any distinct banks, with the named latencies; conflicts are flagged."""

import numpy as np
from amaranth.sim import Simulator

from firebrick.hw.activation_memory import ActivationMemory
from firebrick.hw.latency import ACTIVATION_READ_LATENCY, WRITE_LATENCY


def read_request(addresses, banks):
    """A read as the port takes it: lane 0's row, per lane the bank and the row offset from it (`split_lanes`)."""
    first = addresses[0]
    base = first // banks
    where = [first % banks + (a - first) for a in addresses]
    return {"base": base, "bank": [w % banks for w in where], "offset": [w // banks for w in where]}


def set_read(ctx, port, request, enables: int):
    """Present `request` with the lanes in the mask `enables` on; `select` as the fetch makes it (`bank_select`)."""
    ctx.set(port.base, request["base"])
    ctx.set(port.bank, request["bank"])
    ctx.set(port.offset, request["offset"])
    ctx.set(port.en, enables)
    ctx.set(port.select, [(1 << bank) if enables >> lane & 1 else 0 for lane, bank in enumerate(request["bank"])])


def test_lanes_write_then_read_back_through_the_crossbars():
    banks, depth, lanes = 8, 64, 4
    dut = ActivationMemory(banks=banks, depth=depth, lanes=lanes, value_bits=9, address_bits=9, offset_bits=4,
                           write_ports=("a", "b"))
    rng = np.random.default_rng(0)
    reference = {}

    async def bench(ctx):
        for n in range(60):  # random conflict-free writes, alternating between the two write ports
            port = dut.a if n % 2 else dut.b
            # lanes of one access lie close together, in order, in distinct banks: within 15 rows of lane 0
            first = int(rng.integers(0, (depth - 16) * banks))
            offsets = sorted(rng.choice(np.arange(1, 15 * banks), 40, replace=False))
            addresses = [first]
            for d in offsets:
                if len(addresses) < lanes and (first + d) % banks not in {a % banks for a in addresses}:
                    addresses.append(first + int(d))
            enables = rng.random(lanes) < 0.8
            values = rng.integers(-256, 256, lanes)
            ctx.set(port.addr, addresses)
            ctx.set(port.data, [int(v) for v in values])
            ctx.set(port.en, int(sum(int(e) << i for i, e in enumerate(enables))))
            await ctx.tick()
            ctx.set(port.en, 0)
            for a, v, e in zip(addresses, values, enables):
                if e:
                    reference[a] = int(v)
        await ctx.tick().repeat(WRITE_LATENCY - 1)  # the last write is readable from here
        known = sorted(reference)
        for _ in range(60):
            start = int(rng.integers(len(known)))
            picks = []
            for a in known[start:]:
                if a - known[start] < 15 * banks and a % banks not in {p % banks for p in picks}:
                    picks.append(a)
                if len(picks) == lanes:
                    break
            request = read_request(picks + [picks[-1]] * (lanes - len(picks)), banks)
            set_read(ctx, dut.read, request, (1 << len(picks)) - 1)
            await ctx.tick()
            set_read(ctx, dut.read, request, 0)
            await ctx.tick().repeat(ACTIVATION_READ_LATENCY - 1)
            assert [ctx.get(dut.read.data[i]) for i in range(len(picks))] == [reference[a] for a in picks]
        assert not ctx.get(dut.conflict)
        set_read(ctx, dut.read, read_request([3, 3 + banks, 3 + banks, 3 + banks], banks), 0b11)
        await ctx.tick()
        assert ctx.get(dut.conflict)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_a_write_is_readable_write_latency_cycles_after_it_is_presented():
    dut = ActivationMemory(banks=4, depth=8, lanes=2, value_bits=9, address_bits=5, offset_bits=1)
    seen = []

    async def bench(ctx):
        ctx.set(dut.write.addr, [5, 6])
        ctx.set(dut.write.data, [77, 0])
        ctx.set(dut.write.en, 0b01)
        set_read(ctx, dut.read, read_request([5, 6], 4), 0b01)  # read the same word every cycle from the write's cycle on
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
