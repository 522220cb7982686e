"""Loads and frames through the AXI accelerator on Verilator, driven by cocotbext-axi (sim/axi_bench.py)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firebrick.atomic import write_atomic
from firebrick.errors import FirebrickError
from firebrick.hw.activity_counters import Counters
from firebrick.hw.axi_accelerator import SCORE_BITS, registers
from firebrick.hw.packing import image_beats
from firebrick.hw.verilog import TOP_NAME
from firebrick.sim.verilator_runner import run_cocotb


@dataclass(frozen=True)
class AxiSession:
    """One load (its stream words) and the integer images (N x C x H x W) to run after it."""

    load: np.ndarray
    images: np.ndarray


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


def counters_from_registers(values: dict[str, int]) -> dict[str, int]:
    """The activity counters (by `Counters` name) from their LO/HI register reads."""
    return {name: values[f"{name.upper()}_LO"] | values[f"{name.upper()}_HI"] << 32 for name in Counters.members}


def run_axi(verilog: Path, sessions: list[AxiSession], build_dir: Path, *, lanes: int, lane_bits: int, watchdog_cycles: int,
            pause_share: float = 0.3, simulator: str = "verilator", waves: bool = False,
            timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Run the sessions, one after the other, on one AXI accelerator (`verilog`, compiled in `build_dir`): the bench's
    result (sim/axi_bench.py) with signed scores and, per frame, `counters` read from the registers."""
    meta = {"sessions": len(sessions), "offsets": {r.name: r.offset for r in registers()}, "lane_bits": lane_bits,
            "watchdog_cycles": watchdog_cycles, "pause_share": pause_share}
    arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
    for i, session in enumerate(sessions):
        arrays[f"load/{i}"] = session.load.astype(np.int64)
        beats = [image_beats(image, lanes) for image in session.images]
        arrays[f"beats/{i}"] = np.array(beats, np.int64).reshape(len(beats), -1, lanes)
    with tempfile.TemporaryDirectory(prefix="firebrick-axi-") as tmp:
        spec, result = Path(tmp) / "axi.npz", Path(tmp) / "result.json"
        write_atomic(spec, lambda f: np.savez(f, **arrays), binary=True)
        run_cocotb(verilog=verilog, toplevel=TOP_NAME, test_module="firebrick.sim.axi_bench", build_dir=build_dir,
                   extra_env={"FIREBRICK_AXI": str(spec), "FIREBRICK_RESULT": str(result)}, simulator=simulator, waves=waves,
                   timings=timings)
        if not result.exists():
            raise FirebrickError(f"the AXI bench wrote no result; see {build_dir / 'test.log'}")
        outcome = json.loads(result.read_text())
    for session in outcome["sessions"]:
        for frame in session["frames"]:
            frame["scores"] = [_signed(v, SCORE_BITS) for v in frame["scores"]]
            frame["counters"] = counters_from_registers(frame["registers"])
    return outcome
