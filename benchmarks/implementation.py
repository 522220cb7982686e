"""Resources, Fmax, the clock met and tool wall times of accelerators on real synthesis and place-and-route.

ULX3S (ECP5) and iCEBreaker (iCE40): Yosys synthesis of the accelerator, then the
board top (accelerator + UART + PLL on the board's pins) through nextpnr at a
PLL clock (`--clock MHZ`, or the automatic search of `firebrick build
--place-route`: the fastest clock the design meets with margin). PYNQ-Z2,
ZC706 and ZCU104 (Xilinx): Yosys synthesis counts only (no open
place-and-route); on the ZCU104 with the UltraRAM (URAM column) that the fit
check placed memories in. Random weights quantized with the default recipe:
resources and timing do not depend on the values (the weights are loaded at
run time; the board top's bitstream bakes them, and then a trained model
differs only in which LUTs the weight memories' initial values fill); `--seed`
draws other weights, to check that place-and-route converges for any.

    python benchmarks/implementation.py [--cases default:8:ulx3s tiny8:4:ulx3s small:2:icebreaker zynqnet:16:zcu104 ...]
                                        [--clock MHZ] [--no-place-route] [--seed N]

Minutes per design (2 cores): the default model's 8x8 on the ULX3S ~2 min synthesis + ~10 min
of P&R per run; the automatic clock search makes one to three runs; ZynqNet's 16x16 on the ZCU104 ~5 min of
synthesis.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch

from firebrick.boards.board import load_board
from firebrick.boards.build import build_accelerator
from firebrick.boards.fit import DesignDoesNotFit
from firebrick.boards.manifest import load_build
from firebrick.boards.place_route import place_and_route
from firebrick.boards.synthesis import synthesize
from firebrick.boards.tools import ToolError
from firebrick.hw.params import ArrayParams
from firebrick.models.design_space import SqueezeNetMeta, generate
from firebrick.models.firenet import FireNet
from firebrick.models.spec import ConvSpec
from firebrick.models.zoo import DEFAULT_MODEL, build_model, model_spec
from firebrick.quant.calibrate import calibrate
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph

#: the 2-fire network of the tests (tests/conftest.py SMALL), small enough for the iCE40UP5K
SMALL = SqueezeNetMeta(base_e=8, incr_e=8, num_fires=2, freq=2, sr=0.5, stem=ConvSpec(8, 3, 1, 1), input_size=8,
                       input_channels=1, num_classes=4, downsample_before=(0,), hardware_ready=True, pow2_channels=True)
MODELS = {"default": DEFAULT_MODEL, "tiny8": "squeezenet_tiny8_hw", "tiny28": "squeezenet_tiny28_hw", "small": None,
          "zynqnet": "zynqnet", "squeezenet1_1": "squeezenet1_1_hw"}


def quantized_graph(model: str, seed: int):
    torch.manual_seed(seed)
    if MODELS[model] is None:
        net, shape = FireNet(generate(SMALL, name="small_board_net")).eval(), (1, 8, 8)
    else:
        spec = model_spec(MODELS[model])
        net, shape = build_model(MODELS[model]).eval(), (spec.input_channels, spec.input_size, spec.input_size)
    graph = canonicalize(lower_torch(net, shape))
    return quantize_graph(graph, calibrate(graph, torch.rand(64, *shape)), QuantConfig())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["default:8:ulx3s", "default:8:pynq_z2", "default:8:zc706"],
                        help="MODEL:ARRAY:BOARD (ARRAY 8 or 16x8), MODEL one of " + ", ".join(MODELS))
    parser.add_argument("--clock", type=float, help="place and route at this PLL clock (default: the automatic search)")
    parser.add_argument("--no-place-route", action="store_true")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--keep", type=Path, help="keep the build folders here")
    parser.add_argument("--force-synth", action="store_true", help="synthesize designs the fit check refuses (no P&R)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="firebrick-impl-"))
    print(f"builds in {root}")
    print(f"{'model':<8} {'board':<10} {'array':>5} {'LUTs':>14} {'FFs':>14} {'DSPs':>10} {'BRAM':>9} {'URAM':>9} {'synth s':>7} "
          f"{'clock MHz':>9} {'Fmax MHz':>8} {'met':>4} {'P&R s':>6} {'cycles':>7} {'fps@clock':>9}", flush=True)
    for case in args.cases:
        model, array, name = case.split(":")
        rows, _, cols = array.partition("x")  # "8" is 8x8, "16x8" is 16 rows by 8 columns
        rows, cols = int(rows), int(cols or rows)
        graph = quantized_graph(model, args.seed)
        board = load_board(name)
        folder = root / f"{model}-{name}-{rows}x{cols}-seed{args.seed}"
        params = ArrayParams(rows=rows, cols=cols)
        try:
            manifest = build_accelerator(graph, params, folder, board=board)
        except DesignDoesNotFit as exc:
            print(f"{model:<8} {name:<10} {rows:>2}x{cols:<2} refused by the fit check: {exc}", flush=True)
            if not args.force_synth:
                continue
            roomy = dataclasses.replace(board.resources, luts=10**7, block_ram=dataclasses.replace(board.resources.block_ram, blocks=10**5))
            manifest = build_accelerator(graph, params, folder, board=dataclasses.replace(board, resources=roomy))
        build = load_build(folder)
        began = time.perf_counter()
        synth = synthesize(build, board)
        synth_s = time.perf_counter() - began
        r = synth["resources"]

        def cell(key):
            return f"{r[key]['used']:,.0f} ({r[key]['percent']:.0f}%)"

        clock = fmax = met = pr_s = fps = ""
        if not args.no_place_route and board.toolchain.place_route and synth["fits"]:
            try:
                pr = place_and_route(build, board, clock_mhz=args.clock, bitstream=False)
                clock, fmax, met = f"{pr['clock_mhz']:g}", f"{pr['fmax_mhz']:.1f}", "yes" if pr["timing_met"] else "NO"
                pr_s = f"{sum(run['place_route_s'] for run in pr['runs']):.0f}"
                fps = f"{pr['frames_per_second_at_clock']:,.0f}"
                path = pr["critical_path"]
                if path:
                    print(f"    critical path {path['delay_ns']:.2f} ns ({path['logic_ns']:.2f} logic, {path['routing_ns']:.2f} routing) "
                          f"in {' -> '.join(path['components']) or '?'}, from {' -> '.join(path['sources']) or '?'}", flush=True)
            except ToolError as exc:
                fmax = "failed: " + str(exc).splitlines()[0]
        print(f"{model:<8} {name:<10} {rows:>2}x{cols:<2} {cell('luts'):>14} {cell('ffs'):>14} {cell('dsps'):>10} "
              f"{cell('block_ram'):>9} {cell('other_ram') if r['other_ram']['available'] else '-':>9} {synth_s:>7.0f} {clock:>9} {fmax:>8} {met:>4} {pr_s:>6} {manifest.cycles_per_frame:>7,} "
              f"{fps:>9}", flush=True)


if __name__ == "__main__":
    main()
