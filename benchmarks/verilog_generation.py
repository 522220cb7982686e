"""Verilog generation for the ImageNet-class networks against the default model, side by side in one run.

For each model (seeded random weights: the Verilog's logic and size do not
depend on their values), compile for the array and generate the accelerator's
Verilog loaded at run time (no memory contents; the default since run-time
loading) and, with --baked, also with the contents baked in. Prints bytes,
lines, seconds and the ratio of each to the default model's run-time
Verilog, plus the load file's size. Each model is generated --repeat times,
the models taking turns, and the fastest time counts (the machine's noise only
ever adds time; one run's times varied by a quarter).

    python benchmarks/verilog_generation.py [--rows 16 --cols 16] [--models squeezenet_tiny28_hw ...] [--baked] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gc

from firebrick.hw.compiler import compile_graph
from firebrick.hw.load_format import load_stream, program_envelope
from firebrick.hw.params import ArrayParams
from firebrick.hw.verilog import accelerator_verilog
from firebrick.models.zoo import DEFAULT_MODEL, model_spec
from firebrick.quant.pipeline import random_weight_graph
from firebrick.quant.quantize import QuantConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--cols", type=int, default=16)
    parser.add_argument("--models", nargs="+", default=[DEFAULT_MODEL, "squeezenet1_1_hw", "zynqnet"])
    parser.add_argument("--baked", action="store_true", help="also the baked Verilog (minutes for the large networks)")
    parser.add_argument("--repeat", type=int, default=2, help="generations of each, taking turns; the fastest counts")
    args = parser.parse_args()
    params = ArrayParams(rows=args.rows, cols=args.cols)
    programs = {name: compile_graph(random_weight_graph(model_spec(name), QuantConfig()), params) for name in args.models}
    cases = [(name, loadable) for name in args.models for loadable in ((True, False) if args.baked else (True,))]
    shape, fastest = {}, {}  # (name, loadable) -> (bytes, lines); -> the fastest generation's seconds
    for run in range(args.repeat):
        for case in cases:
            gc.collect()  # each generation starts from the same heap, not the previous one's garbage
            verilog = accelerator_verilog(programs[case[0]], loadable=case[1])
            shape[case] = (len(verilog.text.encode()), verilog.lines)
            fastest[case] = min(verilog.seconds, fastest.get(case, verilog.seconds))
            print(f"run {run + 1}/{args.repeat}: {case[0]} ({'run-time' if case[1] else 'baked'}): {shape[case][0] / 1e6:.2f} MB, "
                  f"{verilog.lines:,} lines, {verilog.seconds:.1f} s", flush=True)
    base_size, base_seconds = shape[args.models[0], True][0], fastest[args.models[0], True]
    print(f"\n{args.rows}x{args.cols} array, Verilog through Amaranth (hw/verilog.py), fastest of {args.repeat} in one run:")
    print(f"{'model':<22} {'memories':<9} {'MB':>7} {'lines':>9} {'seconds':>8} {'x size':>7} {'x time':>7} {'load MB':>8}")
    for name, loadable in cases:
        (size, lines), seconds = shape[name, loadable], fastest[name, loadable]
        load_words = len(load_stream(programs[name], program_envelope(programs[name])))
        print(f"{name:<22} {'run-time' if loadable else 'baked':<9} {size / 1e6:>7.2f} {lines:>9,} {seconds:>8.1f} "
              f"{size / base_size:>7.2f} {seconds / base_seconds:>7.2f} {load_words * 4 / 1e6:>8.2f}")


if __name__ == "__main__":
    main()
