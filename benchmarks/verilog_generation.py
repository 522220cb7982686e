"""Verilog generation for the ImageNet-class networks against the default model, side by side in one run.

For each model (seeded random weights: the Verilog's logic and size do not
depend on their values), compile for the array and generate the accelerator's
Verilog loaded at run time (no memory contents; the default since run-time
loading) and, with --baked, also with the contents baked in. Prints bytes,
lines, seconds and the ratio of each to the default model's run-time
Verilog, plus the load file's size.

    python benchmarks/verilog_generation.py [--rows 16 --cols 16] [--models squeezenet_tiny28_hw ...] [--baked]
"""

from __future__ import annotations

import argparse
import time

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
    args = parser.parse_args()
    params = ArrayParams(rows=args.rows, cols=args.cols)
    rows = []
    for name in args.models:
        began = time.perf_counter()
        graph = random_weight_graph(model_spec(name), QuantConfig())
        program = compile_graph(graph, params)
        prepared = time.perf_counter() - began
        load_words = len(load_stream(program, program_envelope(program)))
        for loadable in (True, False) if args.baked else (True,):
            verilog = accelerator_verilog(program, loadable=loadable)
            rows.append((name, "run-time" if loadable else "baked", verilog.text.encode().__len__(), verilog.lines,
                         verilog.seconds, prepared, load_words))
            print(f"{name} ({'run-time' if loadable else 'baked'}): {rows[-1][2] / 1e6:.2f} MB, {verilog.lines:,} lines, "
                  f"{verilog.seconds:.1f} s", flush=True)
    base = next(r for r in rows if r[1] == "run-time")
    print(f"\n{args.rows}x{args.cols} array, Verilog through Amaranth (hw/verilog.py), one run:")
    print(f"{'model':<22} {'memories':<9} {'MB':>7} {'lines':>9} {'seconds':>8} {'x size':>7} {'x time':>7} {'load MB':>8}")
    for name, how, size, lines, seconds, _, words in rows:
        print(f"{name:<22} {how:<9} {size / 1e6:>7.2f} {lines:>9,} {seconds:>8.1f} {size / base[2]:>7.2f} "
              f"{seconds / base[4]:>7.2f} {words * 4 / 1e6:>8.2f}")


if __name__ == "__main__":
    main()
