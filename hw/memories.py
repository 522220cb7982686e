"""The accelerator's memories as a board sees them: one shape per memory, from the compiled program.

The fit check (block RAM per shape), the energy model (bits per access, bytes
per bank) and the manifest all read this list; nothing else describes the
memories.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from firebrick.hw.compiler import Program
from firebrick.hw.latency import SCORE_QUEUE_CAPACITY
from firebrick.hw.load_format import Envelope, program_envelope
from firebrick.hw.params import ArrayParams


#: the memories the accelerator writes while it runs a frame (the others are written only by the loader, before)
WRITTEN_BY_FRAMES = frozenset({"activations", "scores"})


@dataclass(frozen=True)
class MemoryShape:
    """`banks` memories of `depth` words of `width` bits each; `initialised`: with contents in the Verilog (baked
    weights), which RAM without initial values (UltraRAM) cannot hold."""

    name: str
    banks: int
    depth: int
    width: int
    initialised: bool = False

    @property
    def bits(self) -> int:
        return self.banks * self.depth * self.width

    @property
    def written_by_frames(self) -> bool:
        """Read and written in one cycle while a frame runs: single-port RAM (iCE40 SPRAM) cannot hold it."""
        return self.name in WRITTEN_BY_FRAMES

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bits": self.bits}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MemoryShape":
        return cls(name=d["name"], banks=d["banks"], depth=d["depth"], width=d["width"], initialised=d.get("initialised", False))


def program_memories(program: Program, *, loadable: bool = True, envelope: Envelope | None = None) -> list[MemoryShape]:
    """Every memory of the accelerator for `program`, in a fixed order (`loadable`: with the layer program's
    memory, which a baked design holds as logic; as large as `envelope`, by default as `program` needs)."""
    p = program.params
    if loadable:
        return envelope_memories(envelope or program_envelope(program), p)
    plan = program.memory
    stored = program.codebook_bits or p.weight_bits
    tables = [] if program.codebooks is None else [MemoryShape("codebooks", 1, len(program.codebooks), p.weight_bits, True)]
    return tables + [
        MemoryShape("activations", plan.banks, plan.bank_depth, p.lane_act_bits),
        MemoryShape("weights", 1, len(program.weights), p.rows * stored, True),
        MemoryShape("biases", 1, len(program.biases), p.rows * p.acc_bits, True),
        score_queue_memory(p),
    ]


def envelope_memories(envelope: Envelope, params: ArrayParams) -> list[MemoryShape]:
    """The memories of an accelerator loaded at run time, as large as its envelope."""
    capacity, bits = envelope.capacity, envelope.word_bits
    tables = [MemoryShape("codebooks", 1, capacity["codebooks"], bits["codebooks"])] if capacity["codebooks"] else []
    return [MemoryShape("program", 1, capacity["steps"], bits["steps"])] + tables + [
        MemoryShape("activations", envelope.layout["activation_banks"], envelope.activation_depth, params.lane_act_bits),
        MemoryShape("weights", 1, capacity["weights"], bits["weights"]),
        MemoryShape("biases", 1, capacity["biases"], bits["biases"]),
        score_queue_memory(params),
    ]


def score_queue_memory(params: ArrayParams) -> MemoryShape:
    """The global pool's score queue (`score_queue.py`): all but its output register is a memory (on iCE40 an EBR)."""
    return MemoryShape("scores", 1, SCORE_QUEUE_CAPACITY - 1, params.lane_act_bits + 1)


def loaded_at_run_time(memories: list[MemoryShape]) -> bool:
    """Whether these are the memories of a design loaded at run time: only those hold the layer program in a memory
    (a baked design's program is logic)."""
    return any(m.name == "program" for m in memories)


def sram_bits(memories: list[MemoryShape]) -> int:
    return sum(m.bits for m in memories)
