"""Does a design fit a board? Checked from the compiled memories and array size, before any synthesis.

The estimate is simple and a little pessimistic: every memory bank maps to
block RAM in the cheapest (depth, width) shape of the device's block, except
shallow ones that synthesis puts in LUT RAM; every multiplier of the array
takes a DSP block, or, when the array has more multipliers than the device has
DSPs, all of them go to LUTs (Yosys' ECP5 flow maps all or none); the rest of
the logic follows the board file's linear model in the array's size, fitted to
Yosys runs of whole accelerators. Synthesis (`boards/synthesis.py`) gives the
real counts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from firebrick.boards.board import BlockRam, Board
from firebrick.errors import FirebrickError
from firebrick.hw.memories import MemoryShape, sram_bits

#: memories at most this deep are left in LUT RAM by Yosys on ECP5 and 7-series (seen in synthesis)
LUT_RAM_MAX_DEPTH = 64
#: families without LUT RAM: every memory takes block RAM (the iCE40's SB_RAM40_4K, 256 x 16 at its widest)
NO_LUT_RAM_FAMILIES = frozenset({"ice40"})


class DesignDoesNotFit(FirebrickError):
    """The design needs more of a resource than the board has."""


@dataclass(frozen=True)
class FitEstimate:
    board: str
    block_ram_blocks: int
    block_ram_available: int
    lut_ram_bits: int
    multipliers: int
    dsps: int
    dsps_available: int
    #: LUTs for multipliers that found no DSP block (0 when they all did)
    multiplier_luts: int
    #: all LUTs: the logic model plus multiplier_luts
    luts: int
    luts_available: int

    def shortfalls(self) -> list[str]:
        out = []
        if self.block_ram_blocks > self.block_ram_available:
            out.append(f"block RAM: needs {self.block_ram_blocks} blocks, {self.board} has {self.block_ram_available}")
        if self.luts > self.luts_available:
            why = (f", {self.multiplier_luts:,} of them for the {self.multipliers} array multipliers (more than the "
                   f"{self.dsps_available} DSP blocks)" if self.multiplier_luts else "")
            out.append(f"LUTs: needs ~{self.luts:,}{why}, {self.board} has {self.luts_available:,}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FitEstimate":
        return cls(**d)


def blocks_for(depth: int, width: int, ram: BlockRam) -> int:
    """Block RAMs for one depth x width memory: the cheapest way to tile it with one block shape."""
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in ram.configs)


def estimate_fit(memories: list[MemoryShape], multipliers: int, board: Board, *, cols: int) -> FitEstimate | None:
    """The resource estimate of a design on an FPGA board (`multipliers` = rows x cols PEs, `cols` lanes); None for an
    ASIC technology (no fixed budget)."""
    res = board.resources
    if res is None:
        return None
    blocks = lut_ram = 0
    lut_ram_depth = 0 if board.family in NO_LUT_RAM_FAMILIES else LUT_RAM_MAX_DEPTH
    for m in memories:
        if m.depth <= lut_ram_depth:
            lut_ram += m.bits
        else:
            blocks += m.banks * blocks_for(m.depth, m.width, res.block_ram)
    in_dsps = multipliers <= res.dsps
    multiplier_luts = 0 if in_dsps else multipliers * res.luts_per_lut_multiplier
    return FitEstimate(
        board=board.name, block_ram_blocks=blocks, block_ram_available=res.block_ram.blocks, lut_ram_bits=lut_ram,
        multipliers=multipliers, dsps=multipliers if in_dsps else 0, dsps_available=res.dsps,
        multiplier_luts=multiplier_luts, luts=round(res.logic_luts(multipliers, cols)) + multiplier_luts,
        luts_available=res.luts,
    )


def check_fit(memories: list[MemoryShape], multipliers: int, board: Board, *, cols: int) -> FitEstimate | None:
    """The estimate, or DesignDoesNotFit naming every resource that is short (needed vs available)."""
    estimate = estimate_fit(memories, multipliers, board, cols=cols)
    if estimate is not None and estimate.shortfalls():
        needed_bits = sram_bits(memories)
        raise DesignDoesNotFit(
            f"the design does not fit {board.name} ({board.device}): " + "; ".join(estimate.shortfalls())
            + f". On-chip memory: {needed_bits / 8 / 1024:,.1f} KiB needed, {board.resources.block_ram.bits / 8 / 1024:,.1f} KiB "
            "of block RAM available. Use a smaller model (fewer channels, codebook weights), a smaller array, or a larger board "
            "(`firebrick boards`)"
            + ("; or --bake-weights: the layer program is then logic, not a memory (here "
               f"{sum(m.bits for m in memories if m.name == 'program'):,} bits)" if any(m.name == "program" for m in memories) else "")
        )
    return estimate
