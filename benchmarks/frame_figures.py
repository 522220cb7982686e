"""Cycles, frames/s, utilisation and energy per frame from the exact models (no RTL run needed).

The schedule and the activity model equal the RTL's counters (tests check
both against Verilator and Amaranth's simulator), so these are the figures
the generated hardware has. Energy is priced twice: with the board's own table
(boards/*.yaml) and with the 45 nm ASIC table (asic45.yaml), same activity.
Random weights: cycles and activity do not depend on values.

    python benchmarks/frame_figures.py
"""

from __future__ import annotations

import torch

from firebrick.boards.board import load_board
from firebrick.hw.memories import program_memories, sram_bits
from firebrick.hw.compiler import compile_graph
from firebrick.hw.params import ArrayParams
from firebrick.hw.schedule import network_utilization, predict_activity
from firebrick.models.zoo import DEFAULT_MODEL, build_model, model_spec
from firebrick.quant.calibrate import calibrate
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph
from firebrick.sim.energy import frame_energy

CASES = [(DEFAULT_MODEL, 8, "ulx3s"), (DEFAULT_MODEL, 16, "ulx3s"),
         ("squeezenet1_1_hw", 16, "zc706"), ("zynqnet", 16, "zc706")]


def main() -> None:
    torch.manual_seed(0)
    print(f"{'model':<22} {'array':>5} {'board':<7} {'MHz':>4} {'cycles/frame':>13} {'frames/s':>9} {'util':>6} "
          f"{'SRAM KiB':>9} {'µJ/frame':>9}  breakdown µJ (macs / act SRAM / weights / static)  {'45 nm µJ':>9}")
    asic = load_board("asic45").energy
    for name, size, board in CASES:
        spec = model_spec(name)
        model = build_model(name).eval()
        graph = canonicalize(lower_torch(model, (spec.input_channels, spec.input_size, spec.input_size)))
        images = torch.rand(4, spec.input_channels, spec.input_size, spec.input_size)
        graph = quantize_graph(graph, calibrate(graph, images, batch_size=2), QuantConfig())
        params = ArrayParams(rows=size, cols=size)
        program = compile_graph(graph, params)
        activity = predict_activity(graph, params)
        clock = load_board(board).clock_mhz
        memories = program_memories(program)
        energy = frame_energy(activity, memories, clock, load_board(board).energy)
        asic_uj = frame_energy(activity, memories, clock, asic)["energy_uj_per_frame"]
        b = energy["breakdown_uj"]
        sram_kib = sram_bits(memories) / 8 / 1024
        print(f"{name:<22} {size:>2}x{size:<2} {board:<7} {clock:>4.0f} {activity['cycles']:>13,} "
              f"{clock * 1e6 / activity['cycles']:>9,.1f} {network_utilization(program.schedule, params):>6.1%} "
              f"{sram_kib:>9,.0f} {energy['energy_uj_per_frame']:>9,.1f}  "
              f"{b['macs']:.3g} / {b['activation_reads'] + b['activation_writes']:.3g} / "
              f"{b['weight_reads'] + b['bias_reads']:.3g} / {b['static']:.3g}  {asic_uj:>9,.1f}", flush=True)


if __name__ == "__main__":
    main()
