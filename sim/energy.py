"""Energy per frame from the design's own activity counters.

E = mac_ops * E_mac + sum over memories of accesses * E_access(word bits, memory size)
    + static power * frame time.

The tables live in the board files (`boards/*.yaml`, key `energy`, loaded into
`firebrick.boards.energy_table.EnergyTable`), each with its sources or stated
assumptions; this module only prices a frame's counters with one.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from firebrick.boards.energy_table import EnergyTable
from firebrick.hw.memories import MemoryShape


def frame_energy(counters: dict[str, int], memories: list[MemoryShape], clock_mhz: float, table: EnergyTable) -> dict[str, Any]:
    """Energy of one frame in µJ with its breakdown, from counters and the accelerator's memories."""
    by_name = {m.name: m for m in memories}

    def access(name: str) -> float:
        m = by_name[name]
        return table.memory.access_pj(m.width, m.depth * m.width / 8)

    seconds = counters["cycles"] / (clock_mhz * 1e6)
    parts_pj = {
        "macs": counters["mac_ops"] * table.mac_pj,
        "activation_reads": counters["act_reads"] * access("activations"),
        "activation_writes": counters["act_writes"] * access("activations"),
        "weight_reads": counters["weight_reads"] * access("weights"),
        "bias_reads": counters["bias_reads"] * access("biases"),
        "static": table.static_mw * 1e-3 * seconds * 1e12,
    }
    breakdown = {k: v * 1e-6 for k, v in parts_pj.items()}
    return {"table": asdict(table), "energy_uj_per_frame": sum(breakdown.values()), "breakdown_uj": breakdown}
