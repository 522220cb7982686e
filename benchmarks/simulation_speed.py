"""Simulation speed of the whole accelerator: Verilator (cocotb) vs Amaranth's simulator, same design, one run.

Builds the default model (random weights are fine: speed does not depend on
values) for an 8x8 array, then runs frames on both simulators and prints
cycles per second of wall time, plus Verilator's build time.

    python benchmarks/simulation_speed.py [--frames 4]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from firebrick.boards.build import build_accelerator
from firebrick.hw.compiler import compile_graph
from firebrick.hw.params import ArrayParams
from firebrick.models.zoo import DEFAULT_MODEL, build_model, model_spec
from firebrick.quant.calibrate import calibrate
from firebrick.quant.executor import quantize_images
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph
from firebrick.sim.amaranth_frame import run_frame
from firebrick.sim.simulate import simulate_build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    spec = model_spec(DEFAULT_MODEL)
    graph = canonicalize(lower_torch(build_model(DEFAULT_MODEL).eval(), (1, spec.input_size, spec.input_size)))
    images = torch.rand(args.frames, 1, spec.input_size, spec.input_size)
    graph = quantize_graph(graph, calibrate(graph, images), QuantConfig())
    params = ArrayParams(rows=8, cols=8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "build"
        manifest = build_accelerator(graph, params, folder)
        cycles = manifest.cycles_per_frame
        began = time.perf_counter()
        simulate_build(folder, images[:1].numpy(), check_layers=0)  # first call builds the model
        first = time.perf_counter() - began
        began = time.perf_counter()
        report = simulate_build(folder, images.numpy(), check_layers=0)
        verilator_s = time.perf_counter() - began
        shutil.rmtree(folder / "sim_verilator", ignore_errors=True)
    program = compile_graph(graph, params)
    began = time.perf_counter()
    run_frame(program, quantize_images(graph, images[:1].numpy())[0])
    amaranth_s = time.perf_counter() - began
    v_rate = cycles * args.frames / verilator_s
    a_rate = cycles / amaranth_s
    print(f"{DEFAULT_MODEL}, 8x8 array, {cycles:,} cycles/frame, bit-exact: {report['bit_exact']}")
    print(f"Verilator build + 1 frame: {first:.1f} s (includes verilating and compiling)")
    print(f"Verilator (cocotb, Python only at handshakes): {args.frames} frames in {verilator_s:.1f} s wall "
          f"(process start included) = {v_rate:,.0f} cycles/s")
    print(f"Amaranth simulator (Python): 1 frame in {amaranth_s:.1f} s = {a_rate:,.0f} cycles/s "
          f"(layer read-back included)")
    print(f"ratio Verilator / Amaranth: {v_rate / a_rate:.0f}x")


if __name__ == "__main__":
    main()
