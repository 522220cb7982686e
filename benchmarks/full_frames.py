"""ImageNet-class networks through the whole RTL flow: one full frame each in Verilator, every layer checked.

    python benchmarks/full_frames.py [--models squeezenet1_1_hw zynqnet] [--rows 16 --cols 16] [--input 256]
                                     [--check-layers 1] [-o firebrick-out/full-frames]

For each network (1000 classes, seeded random weights: cycles and bit-exactness
do not depend on the values): quantize, `build` (Verilog without memory
contents + the load file) for the asic45 board, then `simulate` one frame on
Verilator (the load file streamed through the load port, then the image), with
every conv layer read back and compared with the golden executor
(`--check-layers 0`: the scores only). Prints per network the Verilog size and
generation time, the Verilator build time, the frame's wall time (load
included), its cycles against the static schedule, and the simulated cycles per
second of wall time. A second run of the same command reuses the compiled
Verilator model (the Verilog is unchanged), so its build time is ~0.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from firebrick.boards.build import build_accelerator
from firebrick.hw.params import ArrayParams
from firebrick.models.zoo import model_spec
from firebrick.quant.pipeline import random_weight_graph
from firebrick.quant.quantize import QuantConfig
from firebrick.sim.simulate import simulate_build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["squeezenet1_1_hw", "zynqnet"])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--cols", type=int, default=16)
    parser.add_argument("--input", type=int, default=None, help="input size (default: the network's own, 256)")
    parser.add_argument("--check-layers", type=int, default=1, help="frames with every layer checked (0: scores only)")
    parser.add_argument("-o", "--output", default="firebrick-out/full-frames")
    args = parser.parse_args()
    # a cold model cache (`sim/model_cache.py`), so that the Verilator build is timed, not reused
    models = tempfile.TemporaryDirectory(prefix="firebrick-models-")  # removed when the benchmark exits
    os.environ["FIREBRICK_SIM_CACHE"] = models.name
    for name in args.models:
        spec = model_spec(name)
        if args.input is not None:
            spec = spec.replace(input_size=args.input)
        began = time.perf_counter()
        graph = random_weight_graph(spec, QuantConfig())
        folder = Path(args.output) / f"{name}_{spec.input_size}_{args.rows}x{args.cols}"
        manifest = build_accelerator(graph, ArrayParams(rows=args.rows, cols=args.cols), folder, board="asic45")
        built = time.perf_counter() - began
        torch.manual_seed(0)
        image = torch.rand(1, spec.input_channels, spec.input_size, spec.input_size).numpy()
        began = time.perf_counter()
        report = simulate_build(folder, image, check_layers=args.check_layers)
        wall = time.perf_counter() - began
        sim_s = report["seconds"]
        simulated = report["cycles"] + (report["load"]["cycles"] or 0)
        print(f"{name} {spec.input_size}x{spec.input_size}, {args.rows}x{args.cols} array, {manifest.scores.count} classes: "
              f"Verilog {manifest.verilog.bytes / 1e6:.2f} MB in {manifest.verilog.seconds:.1f} s "
              f"(quantize + build {built:.1f} s); Verilator build {report['build_seconds']:.1f} s; "
              f"load {report['load']['words']:,} words; frame {report['cycles']:,} cycles "
              f"(schedule {report['predicted_cycles']:,}: {'equal' if report['cycles'] == report['predicted_cycles'] else 'DIFFERENT'}), "
              f"bit-exact {report['bit_exact']} on {len(report['layers_checked'])} layers + scores; "
              f"simulation {sim_s:.1f} s for {simulated:,} cycles (load + frame) = {simulated / sim_s:,.0f} cycles/s; "
              f"wall {wall:.1f} s", flush=True)


if __name__ == "__main__":
    main()
