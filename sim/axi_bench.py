"""cocotb testbench of the AXI accelerator (hw/axi_accelerator.py) with cocotbext-axi's own drivers.

FIREBRICK_AXI (an .npz from `run_axi_frame`: the load words, the image beats, the
expected scores) in, FIREBRICK_RESULT (JSON: the registers read, the scores and
their tlast flags) out. The load and the image go through AxiStreamSource, the
scores come back through AxiStreamSink, both with random pauses (back-pressure
and gaps), the registers through AxiLiteMaster.
"""

from __future__ import annotations

import itertools
import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from firebrick.hw.packing import pack_lanes


def _pauses(seed: int, share: float):
    rng = random.Random(seed)
    return (rng.random() < share for _ in itertools.count())


@cocotb.test()
async def axi_frame(dut):
    spec = np.load(os.environ["FIREBRICK_AXI"], allow_pickle=False)
    meta = json.loads(spec["meta"].tobytes().decode())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    # byte_lanes=1: one frame element is one whole beat (the default, tdata width / 8 byte lanes, splits words)
    load = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_load"), dut.clk, dut.rst, byte_lanes=1)
    image = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_image"), dut.clk, dut.rst, byte_lanes=1)
    scores = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_scores"), dut.clk, dut.rst, byte_lanes=1)
    regs = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    for port, seed in ((load, 1), (image, 2), (scores, 3)):
        port.set_pause_generator(_pauses(seed, 0.3))
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    offsets = meta["offsets"]

    async def read(name: str) -> int:
        return int.from_bytes((await regs.read(offsets[name], 4)).data, "little")

    result = {"before": {name: await read(name) for name in ("ID", "VERSION", "ENVELOPE", "STATUS")}}
    await load.send(AxiStreamFrame([int(w) for w in spec["load"]]))
    await load.wait()
    await image.send(AxiStreamFrame([pack_lanes([int(v) for v in beat], meta["lane_bits"]) for beat in spec["beats"]]))
    frame = await scores.recv()
    for _ in range(20):  # the counters reach their registers a few cycles after the last score
        await RisingEdge(dut.clk)
    result["scores"] = [int(v) for v in frame.tdata]
    result["after"] = {name: await read(name) for name in offsets if name != "CONTROL"}
    await regs.write(offsets["CONTROL"], (1).to_bytes(4, "little"))
    result["cleared_status"] = await read("STATUS")
    result["unknown_read"] = (await regs.read(0xFC, 4)).resp.value
    with open(os.environ["FIREBRICK_RESULT"], "w", encoding="utf-8") as f:
        json.dump(result, f)
