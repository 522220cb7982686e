"""The analytical what-if: a design's cycles, frames/s, utilisation, energy, memory and fit without Verilog.

The figures come from the models the tests hold equal to the RTL: the static
schedule (cycles, per layer), the activity model (the counters the hardware
would report) priced with the board's energy table, the compiled memories and
the fit estimate. Seconds for networks whose Verilog takes minutes. Sweeps
price their points with the same function.
"""

from __future__ import annotations

from typing import Any

from firebrick.boards.board import Board
from firebrick.boards.fit import estimate_fit
from firebrick.hw.compiler import compile_graph
from firebrick.hw.layout import MemoryPlan
from firebrick.hw.memories import program_memories, sram_bits
from firebrick.hw.params import ArrayParams
from firebrick.hw.schedule import network_utilization, predict_activity
from firebrick.quant.graph import Graph
from firebrick.sim.energy import frame_energy

#: what every figure of an estimate is, in words (it goes beside them in the output)
BASIS = "analytical: the exact schedule and activity model (equal to the RTL in the tests), not simulated"


def activation_liveness(graph: Graph, plan: MemoryPlan) -> dict[str, Any]:
    """The activation plan against what is live: words planned, the peak live set (the tensors and where), and the
    live words per node of the schedule."""
    live = plan.live_words(graph)
    node, peak, tensors = max(live, key=lambda row: row[1])
    return {"planned_words": plan.words, "banks": plan.banks, "bank_depth": plan.bank_depth,
            "peak_words": peak, "peak_at": node, "peak_tensors": list(tensors),
            "per_node": {name: words for name, words, _ in live}}


def estimate_design(graph: Graph, params: ArrayParams, board: Board) -> dict[str, Any]:
    """The design's figures at the board's clock; `fits` False (with `shortfalls`) where the board cannot hold it."""
    clock = board.clock_mhz
    program = compile_graph(graph, params)
    activity = predict_activity(graph, params)
    memories = program_memories(program)  # as `firebrick build` makes it: memories loaded at run time
    energy = frame_energy(activity, memories, clock, board.energy)
    fit = estimate_fit(memories, params.rows * params.cols, board, cols=params.cols)
    return {
        "basis": BASIS,
        "board": board.name, "clock_mhz": clock, "clock_basis": board.clock_basis,
        "array": [params.rows, params.cols],
        "cycles": activity["cycles"], "latency_us": activity["cycles"] / clock, "fps": clock * 1e6 / activity["cycles"],
        "utilization": network_utilization(program.schedule, params),
        "energy_uj": energy["energy_uj_per_frame"], "energy_breakdown_uj": energy["breakdown_uj"],
        "energy_table": energy["table"]["name"], "energy_source": board.energy.source,
        "onchip_kib": sram_bits(memories) / 8 / 1024,
        "memories": [m.to_dict() for m in memories],
        "dsps": params.rows * params.cols if fit is None else fit.dsps,
        "block_ram_blocks": None if fit is None else fit.block_ram_blocks,
        "fit_estimate": None if fit is None else fit.to_dict(),
        "fits": True if fit is None else not fit.shortfalls(), "shortfalls": [] if fit is None else fit.shortfalls(),
        "layers": [layer.to_dict(params) for layer in program.schedule],
        "activation_live": activation_liveness(graph, program.memory),
        "counters": activity,
    }
