"""The accelerator's memories as a board sees them: one shape per memory, from the compiled program.

The fit check (block RAM per shape), the energy model (bits per access, bytes
per bank) and the manifest all read this list; nothing else describes the
memories.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from firebrick.hw.compiler import Program
from firebrick.hw.program import step_layout


@dataclass(frozen=True)
class MemoryShape:
    """`banks` memories of `depth` words of `width` bits each."""

    name: str
    banks: int
    depth: int
    width: int

    @property
    def bits(self) -> int:
        return self.banks * self.depth * self.width

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bits": self.bits}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MemoryShape":
        return cls(name=d["name"], banks=d["banks"], depth=d["depth"], width=d["width"])


def program_memories(program: Program, *, loadable: bool = True) -> list[MemoryShape]:
    """Every memory of the accelerator for `program`, in a fixed order (`loadable`: with the layer program's
    memory, which a baked design holds as logic)."""
    p = program.params
    plan = program.memory
    stored = program.codebook_bits or p.weight_bits
    tables = [] if program.codebooks is None else [MemoryShape("codebooks", 1, len(program.codebooks), p.weight_bits)]
    steps = [MemoryShape("program", 1, len(program.steps), step_layout(p, program.widths).size)] if loadable else []
    return steps + tables + [
        MemoryShape("activations", plan.banks, plan.bank_depth, p.lane_act_bits),
        MemoryShape("weights", 1, len(program.weights), p.rows * stored),
        MemoryShape("biases", 1, len(program.biases), p.rows * p.acc_bits),
    ]


def sram_bits(memories: list[MemoryShape]) -> int:
    return sum(m.bits for m in memories)
