"""Resources, Fmax and tool wall times of the default model's accelerator on real synthesis and place-and-route.

ULX3S (ECP5): Yosys synthesis of the accelerator, then the board top (accelerator +
UART on the board's pins) through nextpnr for Fmax, at each array size. PYNQ-Z2
and ZC706 (Xilinx): Yosys synthesis counts only (no open place-and-route).
Random weights quantized with the default recipe: resources and timing do not
depend on the values (they are baked in as ROM contents, so a trained model
differs only in which LUTs the constant weight memories' initial values fill).

    python benchmarks/implementation.py [--sizes 8 16] [--boards ulx3s pynq_z2 zc706] [--no-place-route]

Minutes per design: 8x8 on ULX3S ~2 min synthesis + ~10 min of P&R. 16x16 on
the ULX3S puts its 256 products in LUTs (more than the 156 multipliers) and
needs ~166 % of the LFE5U-85F's LUTs: the fit check refuses it (printed as such);
`--force-synth` synthesizes it anyway to measure (8 min).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch

from firebrick.boards.board import load_board
from firebrick.boards.fit import DesignDoesNotFit
from firebrick.boards.place_route import place_and_route
from firebrick.boards.synthesis import synthesize
from firebrick.boards.tools import ToolError
from firebrick.boards.build import build_accelerator
from firebrick.boards.manifest import load_build
from firebrick.hw.params import ArrayParams
from firebrick.models.zoo import DEFAULT_MODEL, build_model, model_spec
from firebrick.quant.calibrate import calibrate
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph


def default_graph():
    torch.manual_seed(0)
    spec = model_spec(DEFAULT_MODEL)
    graph = canonicalize(lower_torch(build_model(DEFAULT_MODEL).eval(), (spec.input_channels, spec.input_size, spec.input_size)))
    images = torch.rand(64, spec.input_channels, spec.input_size, spec.input_size)
    return quantize_graph(graph, calibrate(graph, images), QuantConfig())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--boards", nargs="+", default=["ulx3s", "pynq_z2", "zc706"])
    parser.add_argument("--no-place-route", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the build folders here")
    parser.add_argument("--force-synth", action="store_true", help="synthesize designs the fit check refuses (no P&R)")
    args = parser.parse_args()
    graph = default_graph()
    root = args.keep or Path(tempfile.mkdtemp(prefix="firebrick-impl-"))
    print(f"{DEFAULT_MODEL}, builds in {root}")
    print(f"{'board':<8} {'array':>5} {'LUTs':>14} {'FFs':>14} {'DSPs':>10} {'BRAM':>9} {'mult in':>7} "
          f"{'synth s':>7} {'Fmax MHz':>8} {'P&R s':>6} {'fps@Fmax':>9}")
    for size in args.sizes:
        for name in args.boards:
            board = load_board(name)
            folder = root / f"{name}-{size}x{size}"
            params = ArrayParams(rows=size, cols=size)
            try:
                build_accelerator(graph, params, folder, board=board)
            except DesignDoesNotFit as exc:
                print(f"{name:<8} {size:>2}x{size:<2} refused by the fit check: {exc}", flush=True)
                if not args.force_synth:
                    continue
                roomy = dataclasses.replace(board.resources, luts=10**7, block_ram=dataclasses.replace(board.resources.block_ram, blocks=10**5))
                build_accelerator(graph, params, folder, board=dataclasses.replace(board, resources=roomy))
            began = time.perf_counter()
            build = load_build(folder)
            synth = synthesize(build, board)
            synth_s = time.perf_counter() - began
            r = synth["resources"]

            def cell(key):
                return f"{r[key]['used']:,.0f} ({r[key]['percent']:.0f}%)"

            fmax = pr_s = fps = ""
            if not args.no_place_route and board.toolchain.place_route and synth["fits"]:
                try:
                    pr = place_and_route(build, board, bitstream=False)
                    fmax, pr_s = f"{pr['fmax_mhz']:.1f}", f"{pr['place_route_s'] + pr['synthesis_s']:.0f}"
                    fps = f"{pr['frames_per_second_at_fmax']:,.0f}"
                except ToolError as exc:
                    fmax = "failed: " + str(exc).splitlines()[0]
            print(f"{name:<8} {size:>2}x{size:<2} {cell('luts'):>14} {cell('ffs'):>14} {cell('dsps'):>10} {cell('block_ram'):>9} "
                  f"{synth['multipliers_in']:>7} {synth_s:>7.0f} {fmax:>8} {pr_s:>6} {fps:>9}", flush=True)


if __name__ == "__main__":
    main()
