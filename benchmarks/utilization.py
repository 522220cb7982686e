"""Array utilisation per layer and per network from the static schedule, and Verilog size and time.

Utilisation = MACs / (cycles x rows x cols). The second table sets each
network's cycles against the compute bound, sum over conv layers of
ceil(MACs / (rows x cols)) (issue 15's measure), and splits the conv layers'
excess into its causes: tiles part empty (channels < rows or pixels < cols in
the last tile: tiles x K - bound), tiles waiting for the previous drain (K <
rows: tiles x (period - K)), and each layer's setup, fill and final drain.
The frame's ratio also counts the load, add and pool layers. The schedule is stall-free by
construction (every memory access is bank-conflict-free, checked when the
layout is planned), so these are the cycles the accelerator takes; layers
under 70 % are listed with the reason. Random weights are fine: cycles do not
depend on values.

    python benchmarks/utilization.py [--sizes 8 16 32] [--models NAME ...] [--verilog]
"""

from __future__ import annotations

import argparse
import time

import torch

from amaranth.back import verilog

from firebrick.hw.layout import plan_layouts
from firebrick.hw.params import ArrayParams
from firebrick.hw.schedule import network_utilization, plan_schedule
from firebrick.hw.accelerator import Accelerator
from firebrick.hw.compiler import compile_graph
from firebrick.models.zoo import DEFAULT_MODEL, build_model, model_spec
from firebrick.quant.calibrate import calibrate
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph

MODELS = ("squeezenet_tiny32_hw", "squeezenet1_1_hw", "zynqnet")


def reason(s, params) -> str:
    why = []
    if s.period > s.reduction:
        why.append(f"K={s.reduction} < rows: tiles wait for the drain")
    rows_used = s.macs / (s.reduction * s.pixel_tiles * params.cols * s.channel_tiles * params.rows) if s.reduction else 0
    if rows_used < 0.75:
        why.append(f"only {rows_used:.0%} of rows x cols hold real channels/pixels")
    return "; ".join(why) or "pipeline fill/drain"


def bound_breakdown(plan, params) -> dict[str, float]:
    """Cycles against the compute bound, and the conv layers' excess by cause, in cycles."""
    convs = [s for s in plan if s.kind == "conv"]
    bound = sum(-(-s.macs // (params.rows * params.cols)) for s in convs)
    tiles = sum(s.channel_tiles * s.pixel_tiles * s.reduction for s in convs)
    waiting = sum(s.channel_tiles * s.pixel_tiles * (s.period - s.reduction) for s in convs)
    conv_cycles = sum(s.cycles for s in convs)
    return {"bound": bound, "conv": conv_cycles / bound, "frame": sum(s.cycles for s in plan) / bound,
            "empty": tiles - bound, "waiting": waiting, "fill": conv_cycles - tiles - waiting}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--models", nargs="+", default=list(MODELS), metavar="NAME")
    parser.add_argument("--verilog", action="store_true", help="also time Verilog generation of the whole accelerator")
    args = parser.parse_args()
    print(f"{'model':<22} {'array':>6} {'conv util':>9} {'frame util':>10} {'cycles':>10} {'act SRAM':>10}  layers < 70 %")
    against_bound = []
    for name in args.models:
        spec = model_spec(name)
        graph = canonicalize(lower_torch(build_model(name), (spec.input_channels, spec.input_size, spec.input_size)))
        for size in args.sizes:
            params = ArrayParams(rows=size, cols=size)
            plan = plan_schedule(graph, params)
            memory = plan_layouts(graph, params)
            low = [f"{s.node} {s.utilization(params):.0%} ({reason(s, params)})"
                   for s in plan if s.kind == "conv" and s.utilization(params) < 0.7]
            print(f"{name:<22} {size:>3}x{size:<2} {network_utilization(plan, params, kinds=('conv',)):>9.1%} "
                  f"{network_utilization(plan, params):>10.1%} {sum(s.cycles for s in plan):>10,} "
                  f"{memory.words * params.act_bits // 8:>9,}B  {'; '.join(low) if low else '-'}")
            against_bound.append((name, size, bound_breakdown(plan, params)))
    print(f"\n{'model':<22} {'array':>6} {'bound':>11} {'conv/bound':>10} {'frame/bound':>11}   conv excess over the bound: "
          "tiles part empty / waiting for the drain / setup, fill, drain")
    for name, size, b in against_bound:
        excess = b["empty"] + b["waiting"] + b["fill"]
        shares = " / ".join(f"{b[k] / excess:.0%}" if excess else "-" for k in ("empty", "waiting", "fill"))
        print(f"{name:<22} {size:>3}x{size:<2} {b['bound']:>11,} {b['conv']:>10.3f} {b['frame']:>11.3f}   {shares}")
    if args.verilog:
        print(f"\n{'array':>6} {'compile s':>9} {'verilog s':>9} {'lines':>9} {'bytes':>11}   (whole accelerator, {DEFAULT_MODEL}, 8-bit, random weights)")
        spec = model_spec(DEFAULT_MODEL)
        model = build_model(DEFAULT_MODEL).eval()
        graph = canonicalize(lower_torch(model, (spec.input_channels, spec.input_size, spec.input_size)))
        graph = quantize_graph(graph, calibrate(graph, torch.rand(16, 1, spec.input_size, spec.input_size)), QuantConfig())
        for size in args.sizes:
            began = time.perf_counter()
            program = compile_graph(graph, ArrayParams(rows=size, cols=size))
            compiled = time.perf_counter()
            text = verilog.convert(Accelerator(program), name="accelerator", emit_src=False)
            done = time.perf_counter()
            print(f"{size:>3}x{size:<2} {compiled - began:>9.2f} {done - compiled:>9.1f} {text.count(chr(10)):>9,} {len(text):>11,}", flush=True)

if __name__ == "__main__":
    main()
