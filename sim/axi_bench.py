"""cocotb testbench of the AXI accelerator (hw/axi_accelerator.py) with cocotbext-axi's own drivers.

FIREBRICK_AXI (an .npz from `sim/axi_frame.py`) in, FIREBRICK_RESULT (JSON) out.
The run is a list of sessions, each a load (`load/i`, the words of a load
file) and its frames (`beats/i`, frames x beats x lanes). Each session
starts its load, and while the load goes in an image is offered: the
accelerator must take no beat of it, and STATUS must say why (not loaded,
not busy). When the load is in, STATUS tells whether it passed; then each
frame's image goes in and its scores come out, and after each frame the
bench reads every register and clears done.
The load and the image go through AxiStreamSource, the scores come back
through AxiStreamSink, each stream paused at random (back-pressure and
gaps), the registers through AxiLiteMaster.
"""

from __future__ import annotations

import itertools
import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, with_timeout
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from firebrick.hw.packing import pack_lanes

PERIOD_NS = 10
#: cycles an early image is offered before the load, while the design must refuse it
EARLY_IMAGE_CYCLES = 50
#: STATUS reads after the load's last word before its outcome counts as final
LOAD_OUTCOME_READS = 8
#: STATUS bits (hw/axi_accelerator.py)
LOADED, BUSY, DONE = 1, 2, 4


def _pauses(seed: int, share: float):
    rng = random.Random(seed)
    return (rng.random() < share for _ in itertools.count())


def _cycles() -> int:
    return int(get_sim_time("ns")) // PERIOD_NS


@cocotb.test()
async def axi_sessions(dut):
    spec = np.load(os.environ["FIREBRICK_AXI"], allow_pickle=False)
    meta = json.loads(spec["meta"].tobytes().decode())
    offsets, lane_bits, watchdog = meta["offsets"], meta["lane_bits"], meta["watchdog_cycles"]
    pause = meta["pause_share"]
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns", impl="gpi").start())
    # byte_lanes=1: one frame element is one whole beat (the default, tdata width / 8 byte lanes, splits words)
    load = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_load"), dut.clk, dut.rst, byte_lanes=1)
    image = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_image"), dut.clk, dut.rst, byte_lanes=1)
    scores = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_scores"), dut.clk, dut.rst, byte_lanes=1)
    regs = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    if pause:
        for port, seed in ((load, 1), (image, 2), (scores, 3)):
            port.set_pause_generator(_pauses(seed, pause))
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)

    async def read(name: str) -> int:
        return int.from_bytes((await regs.read(offsets[name], 4)).data, "little")

    def frame_of(beats) -> AxiStreamFrame:
        return AxiStreamFrame([pack_lanes([int(v) for v in beat], lane_bits) for beat in beats])

    result = {"before": {name: await read(name) for name in ("ID", "VERSION", "ENVELOPE", "STATUS")}, "sessions": []}
    for s in range(meta["sessions"]):
        words, frames = spec[f"load/{s}"], spec[f"beats/{s}"]
        began = _cycles()
        await load.send(AxiStreamFrame([int(w) for w in words]))  # queued: the source starts with the next edge
        for _ in range(100):  # the first word of a load clears `loaded` (a model already there is no longer)
            if not await read("STATUS") & LOADED:
                break
        # a frame offered while the accelerator is being loaded: not one beat taken, and STATUS says why
        early = {"status": None, "beats_taken": None}
        if len(frames):
            dut.s_axis_image_tdata.value = 0
            dut.s_axis_image_tvalid.value = 1  # the image source is idle, so this bench drives the handshake itself
            taken = 0
            for _ in range(EARLY_IMAGE_CYCLES):
                await RisingEdge(dut.clk)
                taken += int(dut.s_axis_image_tready.value)
            dut.s_axis_image_tvalid.value = 0
            early = {"status": await read("STATUS"), "beats_taken": taken}
        await load.wait()
        for _ in range(LOAD_OUTCOME_READS):  # the loader checks the trailer a few cycles after the last word
            status = await read("STATUS")
            if status & LOADED or (status >> 4) & 0b111:
                break
        session = {"early_image": early, "load": {"words": int(len(words)), "cycles": _cycles() - began,
                                                  "loaded": bool(status & LOADED), "error": (status >> 4) & 0b111},
                   "frames": []}
        result["sessions"].append(session)
        if not status & LOADED:
            continue
        for f in range(len(frames)):
            await image.send(frame_of(frames[f]))
            record = {"frame": f, "hung": False}
            try:
                got = await with_timeout(scores.recv(), watchdog * PERIOD_NS, "ns")
            except SimTimeoutError:
                record.update(hung=True, scores=[])
            else:
                record["scores"] = [int(v) for v in got.tdata]  # one frame: up to the beat with tlast
            for _ in range(20):  # the counters reach their registers a few cycles after the last score
                await RisingEdge(dut.clk)
            record["registers"] = {name: await read(name) for name in offsets if name != "CONTROL"}
            await regs.write(offsets["CONTROL"], (1).to_bytes(4, "little"))
            record["cleared_status"] = await read("STATUS")
            session["frames"].append(record)
            if record["hung"]:
                break
    result["extra_scores"] = not scores.empty()  # a score after a frame's tlast would be a second, broken frame
    result["unknown_read"] = (await regs.read(0xFC, 4)).resp.value
    with open(os.environ["FIREBRICK_RESULT"], "w", encoding="utf-8") as f:
        json.dump(result, f)
