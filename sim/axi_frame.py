"""One frame through the AXI accelerator on Verilator, driven by cocotbext-axi (sim/axi_bench.py)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from firebrick.atomic import write_atomic
from firebrick.errors import FirebrickError
from firebrick.hw.axi_accelerator import SCORE_BITS, AxiAccelerator, registers
from firebrick.hw.compiler import Program
from firebrick.hw.load_format import load_stream
from firebrick.hw.packing import image_beats
from firebrick.hw.verilog import TOP_NAME, component_verilog
from firebrick.sim.verilator_runner import run_cocotb


def run_axi_frame(program: Program, image: np.ndarray, work_dir: Path) -> dict[str, Any]:
    """Load `program` and run one integer `image` (C, H, W) through the AXI design; the bench's result: the registers
    before and after, the scores (signed), and the register reads of the clear and of an unknown address."""
    work_dir.mkdir(parents=True, exist_ok=True)
    top = AxiAccelerator(program)
    verilog = work_dir / "accelerator_axi.v"
    text = component_verilog(top, TOP_NAME)
    if not (verilog.is_file() and verilog.read_text() == text):
        write_atomic(verilog, lambda f: f.write(text))
    p = program.params
    meta = {"offsets": {r.name: r.offset for r in registers()}, "lane_bits": p.lane_act_bits}
    with tempfile.TemporaryDirectory(prefix="firebrick-axi-") as tmp:
        frame, result = Path(tmp) / "axi.npz", Path(tmp) / "result.json"
        np.savez(frame, load=load_stream(program, top.envelope).astype(np.int64),
                 beats=np.array(image_beats(image, p.cols), np.int64), meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
        run_cocotb(verilog=verilog, toplevel=TOP_NAME, test_module="firebrick.sim.axi_bench", build_dir=work_dir / "sim_verilator",
                   extra_env={"FIREBRICK_AXI": str(frame), "FIREBRICK_RESULT": str(result)})
        if not result.exists():
            raise FirebrickError(f"the AXI bench wrote no result; see {work_dir / 'sim_verilator' / 'test.log'}")
        outcome = json.loads(result.read_text())
    half = 1 << (SCORE_BITS - 1)
    outcome["scores"] = [v - 2 * half if v >= half else v for v in outcome["scores"]]
    return outcome
