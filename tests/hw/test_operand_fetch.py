"""Operand fetch: lane addresses and border masks per command, through the banked SRAM, FETCH_LATENCY later."""

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from firebrick.hw.activation_memory import ActivationMemory
from firebrick.hw.latency import FETCH_LATENCY
from firebrick.hw.operand_fetch import FetchKind, OperandFetch, window_lanes
from firebrick.hw.program import ProgramWidths

WIDTHS = ProgramWidths(address=8, row_offset=3, coord=5, count=8, weight_address=4, bias_address=4, codebook_address=1, drain=4, steps=2)


def test_windows_rasters_and_debug_reads_arrive_masked_after_the_fetch_latency():
    lanes, banks, depth = 4, 8, 32
    m = Module()
    m.submodules.fetch = fetch = OperandFetch(lanes=lanes, value_bits=9, widths=WIDTHS, banks=banks)
    m.submodules.memory = memory = ActivationMemory(banks=banks, depth=depth, lanes=lanes, value_bits=9, address_bits=8,
                                                    offset_bits=WIDTHS.row_offset)
    wiring.connect(m, fetch.read, memory.read)
    rng = np.random.default_rng(4)
    contents = rng.integers(-256, 256, banks * depth)
    height, width = 6, 7
    commands = []
    for t in range(40):
        kind = [FetchKind.WINDOW, FetchKind.WINDOW, FetchKind.RASTER_A, FetchKind.RASTER_B, FetchKind.DEBUG, FetchKind.NONE][t % 6]
        base = int(rng.integers(0, 40)) * banks // banks
        origins = [base + 9 * c for c in range(lanes)]  # lanes 9 words apart: distinct banks (9 = 1 mod 8)
        rows, cols = [int(v) for v in rng.integers(-1, height, lanes)], [int(v) for v in rng.integers(-1, width, lanes)]
        valid = [bool(v) for v in rng.random(lanes) < 0.8]
        commands.append(dict(kind=kind, offset=int(rng.integers(0, 3)) * banks, dy=int(rng.integers(0, 3)), dx=int(rng.integers(0, 3)),
                             origins=origins, rows=rows, cols=cols, valid=valid, tag=t % 4, debug=int(rng.integers(0, 200))))
    seen = []

    async def bench(ctx):
        for b, mem in enumerate(memory.memories):
            for row in range(depth):
                ctx.set(mem.memory.data[row], int(contents[row * banks + b]) & 0x1FF)
        ctx.set(fetch.in_height, height)
        ctx.set(fetch.in_width, width)
        for t in range(len(commands) + FETCH_LATENCY):
            if t < len(commands):
                c = commands[t]
                ctx.set(fetch.command, {"kind": c["kind"], "offset": c["offset"], "dy": c["dy"], "dx": c["dx"],
                                        "tag": {"conv": {"valid": c["tag"] & 1, "first": 0, "last": 0}, "pool": {"valid": 0, "last": 0},
                                                "add_a": c["tag"] >> 1, "add_b": 0}})
                for walker in (fetch.a, fetch.b):
                    ctx.set(walker.origin, c["origins"])
                    ctx.set(walker.row0, c["rows"])
                    ctx.set(walker.col0, c["cols"])
                    ctx.set(walker.valid, sum(int(v) << i for i, v in enumerate(c["valid"])))
                ctx.set(fetch.debug_address, c["debug"])
            else:
                ctx.set(fetch.command.kind, FetchKind.NONE)
            await ctx.tick()
            seen.append((bool(ctx.get(fetch.operands.valid)), [ctx.get(fetch.operands.payload.x[i]) for i in range(lanes)],
                         ctx.get(fetch.operands.payload.tag.conv.valid), ctx.get(fetch.operands.payload.tag.add_a)))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for t, c in enumerate(commands):
        valid, x, conv_valid, add_a = seen[t + FETCH_LATENCY - 1]  # visible after the fetch latency's edges
        if c["kind"] == FetchKind.WINDOW:
            lanes_ref = window_lanes(c["origins"], c["rows"], c["cols"], c["valid"], c["offset"], c["dy"], c["dx"], height, width)
        elif c["kind"] in (FetchKind.RASTER_A, FetchKind.RASTER_B):
            lanes_ref = [(o, v) for o, v in zip(c["origins"], c["valid"])]
        elif c["kind"] == FetchKind.DEBUG:
            lanes_ref = [(c["debug"] + lane, True) for lane in range(lanes)]
        else:
            assert not valid
            continue
        assert valid and (conv_valid, add_a) == (c["tag"] & 1, c["tag"] >> 1)
        assert x == [int(contents[a]) if e else 0 for a, e in lanes_ref], t
