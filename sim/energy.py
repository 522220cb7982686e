"""Energy per frame from the design's own activity counters.

E = mac_ops * E_mac + sum over memories of accesses * E_access(word bits, memory size)
    + static power * frame time.

The 45 nm table is Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm,
0.9 V): 8-bit multiply 0.2 pJ, 32-bit add 0.1 pJ (so an 8-bit MAC into a 32-bit
accumulator is 0.3 pJ); SRAM read of 64 bits: 10 pJ from 8 KB, 20 pJ from
32 KB, 100 pJ from 1 MB. Between those sizes the access energy is interpolated
on log-log axes and scaled linearly with the word width (an assumption: wider
words share the decoder). Writes cost what reads cost (assumption). Static
power is an assumption, stated in the table.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from firebrick.errors import unknown_name


@dataclass(frozen=True)
class EnergyTable:
    name: str
    #: one multiply-accumulate at the array's width, pJ
    mac_pj: float
    #: (memory bytes, pJ per 64-bit access) points, ascending
    sram_points: tuple[tuple[float, float], ...]
    #: leakage of logic and SRAM together, mW
    static_mw: float
    source: str

    def sram_access_pj(self, word_bits: int, memory_bytes: float) -> float:
        points = self.sram_points
        size = max(memory_bytes, 1.0)
        if size <= points[0][0]:
            per64 = points[0][1] * math.sqrt(size / points[0][0])  # smaller arrays: shorter bit lines
        elif size >= points[-1][0]:
            per64 = points[-1][1] * math.sqrt(size / points[-1][0])
        else:
            for (s0, e0), (s1, e1) in zip(points, points[1:]):
                if s0 <= size <= s1:
                    t = math.log(size / s0) / math.log(s1 / s0)
                    per64 = math.exp(math.log(e0) + t * math.log(e1 / e0))
                    break
        return per64 * word_bits / 64


HOROWITZ_45NM = EnergyTable(
    name="asic45",
    mac_pj=0.2 + 0.1,
    sram_points=((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0)),
    static_mw=5.0,  # assumption: 45 nm low-power logic plus up to ~100 KB SRAM leakage
    source="Horowitz, ISSCC 2014, 45 nm; static power assumed",
)
TABLES = {HOROWITZ_45NM.name: HOROWITZ_45NM}


def energy_table(name: str) -> EnergyTable:
    try:
        return TABLES[name]
    except KeyError:
        raise unknown_name("energy table", name, TABLES) from None


def frame_energy(counters: dict[str, int], memories: list[dict[str, Any]], clock_mhz: float, table: EnergyTable) -> dict[str, Any]:
    """Energy of one frame in µJ with its breakdown, from counters and the manifest's memory list."""
    by_name = {m["name"]: m for m in memories}

    def access(name: str) -> float:
        m = by_name[name]
        bank_bytes = m["depth"] * m["width"] / 8
        return table.sram_access_pj(m["width"], bank_bytes)

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
