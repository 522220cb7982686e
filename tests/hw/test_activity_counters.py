"""Activity counters: events in, totals COUNTER_LATENCY later, snapshots held until the next frame's end."""

import numpy as np
from amaranth.sim import Simulator

from firebrick.hw.activity_counters import ActivityCounters
from firebrick.hw.latency import COUNTER_LATENCY


def test_counters_total_the_events_and_hold_the_snapshot():
    lanes, rows = 4, 3
    dut = ActivityCounters(lanes=lanes, rows=rows)
    rng = np.random.default_rng(3)
    events = [dict(counting=int(rng.random() < 0.9), stalled=int(rng.random() < 0.1), read_lanes=int(rng.integers(16)),
                   write_lanes=int(rng.integers(16)), mac_read=int(rng.random() < 0.5), mac_rows=int(rng.integers(rows + 1)),
                   weight_read=int(rng.random() < 0.5), bias_read=int(rng.random() < 0.2)) for _ in range(200)]

    def totals(evs):
        out = dict.fromkeys(["cycles", "stall_cycles", "mac_ops", "act_reads", "act_writes", "weight_reads", "bias_reads"], 0)
        for e in evs:
            if not e["counting"]:
                continue
            reads = bin(e["read_lanes"]).count("1")
            out["cycles"] += 1
            out["stall_cycles"] += e["stalled"]
            out["act_reads"] += reads
            out["act_writes"] += bin(e["write_lanes"]).count("1")
            out["mac_ops"] += reads * e["mac_rows"] if e["mac_read"] else 0
            out["weight_reads"] += e["weight_read"]
            out["bias_reads"] += e["bias_read"]
        return out

    snapshots = []

    async def bench(ctx):
        for frame in (events[:120], events[120:]):
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
            for e in frame:
                ctx.set(dut.events, e)
                await ctx.tick()
            ctx.set(dut.events, dict.fromkeys(events[0], 0))
            await ctx.tick().repeat(COUNTER_LATENCY - 1)
            ctx.set(dut.snapshot, 1)
            await ctx.tick()
            ctx.set(dut.snapshot, 0)
            await ctx.tick().repeat(5)
            counters = ctx.get(dut.counters)
            snapshots.append({name: int(getattr(counters, name)) for name in totals([])})

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert snapshots == [totals(events[:120]), totals(events[120:])]
