"""Simulation speed of the whole accelerator: Verilator (cocotb), with and without every layer read back.

Builds the default model (random weights are fine: speed does not depend on
values) for an 8x8 array and prints Verilator's build time, then simulated
cycles per second of wall time, each measured as the difference of a run of
1 frame and a run of 1 + N frames (so the process start, the load and cocotb's
start-up, paid once per run, are not counted; they are printed apart):
- scores only (`check_layers=0`): the bench wakes at handshakes only;
- every layer checked (`check_layers` = all frames): after every conv step the
  bench reads the layer back through the debug port, a bank-wide word a cycle.
Each is measured for the model as `simulate` builds it and, side by side in the
same run (alternating, `--rounds` times, best of each), as it was built before
(`verilator_runner.BASELINE`: reset a port, outputs writable through VPI, C++ at
-Os), and the ratio printed: this machine's speed varies by ~1.5x between runs.
`--amaranth` adds Amaranth's Python simulator on one frame (slow: about a minute).

    python benchmarks/simulation_speed.py [--frames 96] [--rounds 2] [--amaranth]
"""

from __future__ import annotations

import argparse
import os
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
from firebrick.sim.simulate import NATIVE_BENCH_SETTINGS, simulate_build
from firebrick.sim.verilator_runner import BASELINE

SETTINGS = {"simulate": NATIVE_BENCH_SETTINGS, "baseline": BASELINE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 16 frames (0.3 M cycles, about a second) were within the noise of the 3 s start-up: 242 k and 944 k cycles/s in
    # one run of the same model; 96 frames gave 332 k
    parser.add_argument("--frames", type=int, default=96, help="N: frames beyond the first (default 96)")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each setting, alternating (best kept)")
    parser.add_argument("--amaranth", action="store_true", help="also time Amaranth's simulator on one frame")
    args = parser.parse_args()
    torch.manual_seed(0)
    spec = model_spec(DEFAULT_MODEL)
    graph = canonicalize(lower_torch(build_model(DEFAULT_MODEL).eval(), (1, spec.input_size, spec.input_size)))
    images = torch.rand(args.frames + 1, 1, spec.input_size, spec.input_size)
    graph = quantize_graph(graph, calibrate(graph, images), QuantConfig())
    params = ArrayParams(rows=8, cols=8)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FIREBRICK_SIM_CACHE"] = str(Path(tmp) / "models")  # a cold model cache: the build is timed
        folder = Path(tmp) / "build"
        manifest = build_accelerator(graph, params, folder)
        cycles = manifest.cycles_per_frame
        print(f"{DEFAULT_MODEL}, 8x8 array, {cycles:,} cycles/frame")
        for name, settings in SETTINGS.items():
            first = simulate_build(folder, images[:1].numpy(), check_layers=0, model_settings=settings)  # builds it
            print(f"  {name} model: Verilator build {first['build_seconds']:.1f} s")
        for what, check in (("scores only", False), ("every layer checked", True)):
            best: dict[str, float] = {}
            for _ in range(args.rounds):
                for name, settings in SETTINGS.items():
                    one = simulate_build(folder, images[:1].numpy(), check_layers=int(check), model_settings=settings)
                    many = simulate_build(folder, images.numpy(), check_layers=len(images) if check else 0,
                                          model_settings=settings)
                    assert one["bit_exact"] and many["bit_exact"] and many["cycles"] == cycles
                    rate = args.frames * cycles / (many["seconds"] - one["seconds"])
                    best[name] = max(best.get(name, 0.0), rate)
                    print(f"  Verilator, {what}, {name} model: 1 frame {one['seconds']:.2f} s, {args.frames + 1} frames "
                          f"{many['seconds']:.2f} s (start-up and load of {one['load']['words']:,} words in each) -> "
                          f"{rate:,.0f} cycles/s", flush=True)
            print(f"Verilator, {what}: {best['simulate']:,.0f} cycles/s ({best['simulate'] / cycles:.1f} frames/s of wall "
                  f"time), {best['simulate'] / best['baseline']:.2f}x the baseline's {best['baseline']:,.0f} "
                  f"(best of {args.rounds})")
    if args.amaranth:
        began = time.perf_counter()
        run_frame(compile_graph(graph, params), quantize_images(graph, images[:1].numpy())[0])
        seconds = time.perf_counter() - began
        print(f"Amaranth simulator (Python): 1 frame in {seconds:.1f} s = {cycles / seconds:,.0f} cycles/s (layer read-back included)")


if __name__ == "__main__":
    main()
