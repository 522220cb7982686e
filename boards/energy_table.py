"""Energy per action of a board or technology: the `energy` table of a board file.

Two memory models:

- `sram_curve` (ASIC): pJ per 64-bit access at a few SRAM sizes (Horowitz,
  ISSCC 2014, 45 nm: 10 pJ from 8 KB, 20 pJ from 32 KB, 100 pJ from 1 MB);
  between the points the energy is interpolated on log-log axes, outside them
  it scales with the square root of the size (bit-line length), and it scales
  linearly with the word width (an assumption: wider words share the decoder).
- `block_ram` (FPGA): a word of W bits touches ceil(W / block_width) block
  RAMs, each access costing `block_access_pj`; a deeper memory cascades blocks
  of which only one is enabled per access, so depth does not add energy.

Writes cost what reads cost (an assumption in both models).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MEMORY_MODELS = ("sram_curve", "block_ram")


@dataclass(frozen=True)
class MemoryEnergy:
    model: str
    #: sram_curve: (memory bytes, pJ per 64-bit access) points, ascending
    points: tuple[tuple[float, float], ...] = ()
    #: block_ram: the width of one block's port used for a wide word, and one access's energy
    block_width: int = 0
    block_access_pj: float = 0.0

    def __post_init__(self) -> None:
        if self.model not in MEMORY_MODELS:
            raise ValueError(f"memory model must be one of {', '.join(MEMORY_MODELS)}, not {self.model!r}")
        if self.model == "sram_curve":
            sizes = [s for s, _ in self.points]
            if not sizes or sizes != sorted(sizes) or any(s <= 0 or e <= 0 for s, e in self.points):
                raise ValueError("sram_curve needs points [[bytes, pJ], ...] with positive values in ascending size")
        elif self.block_width <= 0 or self.block_access_pj <= 0:
            raise ValueError("block_ram needs a positive block_width and block_access_pj")

    def access_pj(self, word_bits: int, memory_bytes: float) -> float:
        if self.model == "block_ram":
            return math.ceil(word_bits / self.block_width) * self.block_access_pj
        points = self.points
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


@dataclass(frozen=True)
class EnergyTable:
    #: one multiply-accumulate at the array's width, pJ
    mac_pj: float
    #: leakage of logic and memories together (FPGA: the device's static power), mW
    static_mw: float
    memory: MemoryEnergy
    #: where the figures come from, or which are assumptions
    source: str
    #: the board or technology the table belongs to (set by the board loader)
    name: str = ""

    def __post_init__(self) -> None:
        if self.mac_pj <= 0 or self.static_mw < 0:
            raise ValueError("mac_pj must be positive and static_mw not negative")
