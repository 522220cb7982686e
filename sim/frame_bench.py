"""cocotb testbench: whole frames through the generated accelerator, checked against the golden executor.

Driven by `simulate.py` through two environment variables set for the
simulator process only: FIREBRICK_FRAME (an .npz written by simulate.py with
the load stream of a design loaded at run time, the image beats, the expected
scores and, for the checked frames, every conv layer's expected output with
its memory addresses) and FIREBRICK_RESULT (where this bench writes its JSON:
the load's outcome and one record per frame). Python touches the design only at handshakes and
edges of `paused`/`frame_done`/`scores.valid`, so Verilator runs freely between.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, ReadOnly, RisingEdge, Timer

from firebrick.hw.loader import LOAD_OUTCOME_CYCLES
from firebrick.hw.packing import pack_lanes, unpack_lane
from firebrick.sim.compare import first_mismatch
from firebrick.sim.registered_reset import RESET_REGISTER_CYCLES

log = logging.getLogger("firebrick.frame_bench")


def _high(signal) -> bool:
    """1, and not X/Z (Icarus starts some combinational outputs at X until the first edge)."""
    value = signal.value
    return value.is_resolvable and int(value) == 1


async def _send(dut, port: str, payloads, patience: int) -> int | None:
    """Stream `payloads` through the valid/ready port `port`; the cycles it took, or None if the design stopped
    taking beats for `patience` cycles."""
    payload, valid, ready = (getattr(dut, f"{port}__{name}") for name in ("payload", "valid", "ready"))
    cycles = 0
    for value in payloads:
        payload.value = value
        valid.value = 1
        await ReadOnly()
        waited = 0
        while not _high(ready):
            waited += 1
            if waited > patience:
                return None
            await RisingEdge(dut.clk)
            await ReadOnly()
        await RisingEdge(dut.clk)
        cycles += waited + 1
    valid.value = 0
    return cycles


def _load_beats(words: np.ndarray):
    """The load words as `LoadBeat` payloads: the data, then `last` (bit 32) on the final word."""
    last = len(words) - 1
    return (int(word) | ((i == last) << 32) for i, word in enumerate(words))


async def _collect_scores(dut, scores: list[int], bits: int) -> None:
    """Every beat (the stream is always ready): woken by valid's rise, then a beat each cycle while it stays high,
    as the pool sends its scores back to back."""
    while True:
        await RisingEdge(dut.scores__valid)
        await ReadOnly()
        while int(dut.scores__valid.value):
            scores.append(unpack_lane(int(dut.scores__payload.value), 0, bits))
            await RisingEdge(dut.clk)
            await ReadOnly()


async def _read_words(dut, starts: np.ndarray, lanes: int, lane_bits: int, latency: int) -> np.ndarray:
    """The `lanes` words from each of `starts` on (the debug port's bank-wide read), one read a cycle, flat:
    lane l of read i at i * lanes + l. A read's words show on debug_data `latency` edges after the edge that
    takes its address."""
    values = np.zeros((len(starts), lanes), np.int64)
    for i in range(len(starts) + latency):
        await RisingEdge(dut.clk)
        if i < len(starts):
            dut.debug_address.value = int(starts[i])  # taken at the next edge
        await ReadOnly()
        if i >= latency:
            word = int(dut.debug_data.value)
            values[i - latency] = [unpack_lane(word, lane * lane_bits, lane_bits) for lane in range(lanes)]
    return values.ravel()


async def kick_initial_evaluation(dut) -> int:
    """Pulse Yosys's `dump_module` registers so that every `always @*` block runs once.

    Yosys writes `reg $auto...dump_module$N = 0;` and reads it in each combinational block so
    that simulators evaluate the block at time 0; Icarus 11 raises no event for the initialiser,
    leaving blocks whose inputs never change (the program ROM, FSM outputs) at X. Verilator
    does not need this and, with --public-depth 1, does not expose the registers.
    """
    kicks = []

    def find(handle, depth: int) -> None:
        for child in handle:
            name = child._name
            if "dump_module" in name:
                kicks.append(child)
            elif depth < 64 and isinstance(child, cocotb.handle.HierarchyObject):
                find(child, depth + 1)

    find(dut, 0)
    for handle in kicks:
        handle.value = 1
    await Timer(1, unit="ns")
    for handle in kicks:
        handle.value = 0
    await Timer(1, unit="ns")
    return len(kicks)


@cocotb.test()
async def frames(dut):
    spec = np.load(os.environ["FIREBRICK_FRAME"], allow_pickle=False)
    meta = json.loads(spec["meta"].tobytes().decode())
    lane_bits, score_bits = meta["lane_bits"], meta["score_bits"]
    counter_fields = meta["counters"]  # name -> [offset, width]
    # the clock starts low: a rising edge at time 0 would race the initial values of reset-less registers (Icarus)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False))
    await Timer(1, unit="ns")  # Icarus: raise reset after time 0 (at time 0 the design's state stays X)
    log.info("kicked %d combinational blocks into evaluation", await kick_initial_evaluation(dut))
    dut.rst.value = 1
    dut.image__valid.value = 0
    dut.scores__ready.value = 1
    dut.debug_resume.value = 0
    dut.debug_address.value = 0
    dut.debug_pause.value = 0
    loading = "load" in spec.files
    if loading:
        dut.load__valid.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, RESET_REGISTER_CYCLES)  # simulate.py runs the design under registered_reset.py
    results = []
    load = None
    if loading:
        cycles = await _send(dut, "load", _load_beats(spec["load"]), meta["watchdog_cycles"])
        # the outcome as soon as it shows, and the image right after (the design takes image beats from the cycle it
        # is loaded: a bench that waited longer would add input stalls to the first frame)
        for _ in range(LOAD_OUTCOME_CYCLES + 1):
            await ReadOnly()
            if _high(dut.loaded) or (dut.load_error.value.is_resolvable and int(dut.load_error.value)):
                break
            await RisingEdge(dut.clk)
        load = {"words": int(len(spec["load"])), "cycles": cycles, "loaded": _high(dut.loaded),
                "error": int(dut.load_error.value) if dut.load_error.value.is_resolvable else -1}
        log.info("load: %s", load)
        await FallingEdge(dut.clk)  # out of the read-only phase, half a cycle before the next edge
    for frame in range(meta["frames"] if load is None or load["loaded"] else 0):
        checked = frame < meta["checked_frames"]
        dut.debug_pause.value = int(checked)
        scores: list[int] = []
        monitor = cocotb.start_soon(_collect_scores(dut, scores, score_bits))
        record = {"frame": frame, "mismatch": None, "hung": None}
        beats = (pack_lanes(beat, lane_bits) for beat in spec["beats"][frame])
        if await _send(dut, "image", beats, meta["watchdog_cycles"]) is None:
            record["hung"] = {"step": 0, "step_node": "image input (image.ready stayed low)"}
            monitor.cancel()
            record.update(counters={}, scores=[], layers_checked=[])
            results.append(record)
            break
        layers_seen = []
        while True:
            await First(RisingEdge(dut.paused), RisingEdge(dut.frame_done), Timer(meta["watchdog_cycles"] * 10, unit="ns"))
            await ReadOnly()
            if not (_high(dut.paused) or _high(dut.frame_done)):  # the watchdog fired
                step = int(dut.step_index.value) if dut.step_index.value.is_resolvable else -1
                record["hung"] = {"step": step, "step_node": meta["steps"][step] if 0 <= step < len(meta["steps"]) else "?"}
                break
            if _high(dut.frame_done):  # the counters hold the frame's totals from now until the next frame's end
                counters = int(dut.counters.value)
                break
            finished = meta["steps"][int(dut.step_index.value)]  # paused after this step
            if finished in meta["layers"]:
                expected = spec[f"expected/{frame}/{finished}"]
                words = await _read_words(dut, spec[f"reads/{finished}"], meta["lanes"], lane_bits, meta["debug_read_latency"])
                got = words[spec[f"picks/{finished}"]]
                layers_seen.append(finished)
                shape = meta["layers"][finished]
                mismatch = first_mismatch({finished: expected.reshape(shape)}, {finished: got.reshape(shape)}, [finished])
                if record["mismatch"] is None and mismatch is not None:
                    record["mismatch"] = dataclasses.asdict(mismatch)
                    log.error("frame %d: first mismatch: %s", frame, mismatch)
            await FallingEdge(dut.clk)
            dut.debug_resume.value = 1
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
            dut.debug_resume.value = 0
        await ClockCycles(dut.clk, 2)
        monitor.cancel()
        if record["hung"]:
            counters = int(dut.counters.value)
        record["counters"] = {name: (counters >> off) & ((1 << width) - 1) for name, (off, width) in counter_fields.items()}
        record["scores"] = scores
        record["layers_checked"] = layers_seen
        results.append(record)
        if record["hung"]:
            break
    with open(os.environ["FIREBRICK_RESULT"], "w", encoding="utf-8") as f:
        json.dump({"load": load, "frames": results}, f)
    assert load is None or load["loaded"], f"the load did not pass: {load}"
    assert all(r["hung"] is None for r in results), f"the design hung: {results[-1]['hung']}"
