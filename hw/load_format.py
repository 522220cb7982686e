"""The load stream: what is written into the accelerator's memories before frames run, and its file.

An accelerator built for run-time loading carries no memory contents. Its
layer program, weights, biases and codebook tables arrive through the `load`
stream as 32-bit words (`LOAD_WORD_BITS`), the last one marked `last`:

    word 0      MAGIC ("FBL1")
    word 1      the envelope ID the load was made for (`Envelope.id`)
    words 2-5   how many words of each section follow: steps, weight words, bias words, codebook entries
    sections    in that order; each memory word in ceil(width / 32) stream words, least significant first
    trailer     checksum A, checksum B (Fletcher style over every word before them, mod 2**32:
                A += word, B += A), the second one marked last

The `Loader` (loader.py) checks the magic, the envelope and the section
counts against its memories as they arrive and the checksum at the end; only
a load that passes all of them sets `loaded`, and until then no frame runs.

The load file (`weights.fbl` in a build folder) is that stream behind a
header: the 8 bytes b"FBLOAD1\\n", a 4-byte little-endian length, a JSON
object (format version, model, SHA-256 of the graph file, the envelope and
its ID, the word count and both checksums), then the words, little-endian.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firebrick.atomic import write_atomic
from firebrick.errors import FirebrickError
from firebrick.hw.compiler import Program
from firebrick.hw.packing import pack_lanes
from firebrick.hw.program import ProgramWidths, encode_step, step_layout

LOAD_WORD_BITS = 32
MAGIC = int.from_bytes(b"FBL1", "little")
#: the sections of a load, in stream order
SECTIONS = ("steps", "weights", "biases", "codebooks")
HEADER_WORDS = 2 + len(SECTIONS)
TRAILER_WORDS = 2
FILE_MAGIC = b"FBLOAD1\n"
FILE_VERSION = 1
#: the load file's name in a build folder
LOAD_FILE = "weights.fbl"
_MASK = (1 << LOAD_WORD_BITS) - 1


class LoadFileError(FirebrickError):
    """A load file that is damaged, truncated or made for another accelerator."""


@dataclass(frozen=True)
class Envelope:
    """What an accelerator's memories hold and how its program's fields are laid out: a load must match it.

    `capacity` is the depth of each loaded memory (words), `word_bits` their widths; `layout` everything
    else a program depends on (the array, the field widths, the activation banks), hashed into the ID.
    """

    capacity: dict[str, int]
    word_bits: dict[str, int]
    layout: dict[str, Any]

    @property
    def id(self) -> int:
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")

    def beats(self, section: str) -> int:
        """Stream words per memory word of `section`."""
        return -(-self.word_bits[section] // LOAD_WORD_BITS)

    def describe(self) -> str:
        sizes = ", ".join(f"{self.capacity[s]} {s}" for s in SECTIONS if self.capacity[s])
        return f"envelope {self.id:08x} ({sizes})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "id": f"{self.id:08x}"}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Envelope":
        return cls(capacity=dict(d["capacity"]), word_bits=dict(d["word_bits"]), layout=dict(d["layout"]))

    @property
    def widths(self) -> ProgramWidths:
        """The field widths of the accelerator's program (wide enough for every model the envelope holds)."""
        return ProgramWidths(**self.layout["widths"])

    @property
    def activation_depth(self) -> int:
        return self.layout["activation_depth"]


def envelope_shortfalls(program: Program, envelope: Envelope) -> list[str]:
    """What `program` needs that `envelope` does not give (empty: the program loads into it), each with both figures."""
    own = program_envelope(program)
    for key in ("params", "codebook_bits", "activation_banks"):
        if own.layout[key] != envelope.layout[key]:
            return [f"{key.replace('_', ' ')}: the model needs {own.layout[key]}, the accelerator has {envelope.layout[key]}"]
    short = [f"{section} memory: the model needs {own.capacity[section]:,} words, the accelerator holds {envelope.capacity[section]:,}"
             for section in SECTIONS if own.capacity[section] > envelope.capacity[section]]
    if own.activation_depth > envelope.activation_depth:
        short.append(f"activation memory: the model needs {own.activation_depth:,} words a bank, the accelerator holds "
                     f"{envelope.activation_depth:,}")
    short += [f"program field '{name}': the model needs {bits} bits, the accelerator's are {envelope.layout['widths'][name]}"
              for name, bits in own.layout["widths"].items() if bits > envelope.layout["widths"][name]]
    return short


def envelope_union(programs: list[Program]) -> Envelope:
    """The smallest envelope that holds every one of `programs` (they must share the array, bits and codebooks)."""
    envelopes = [program_envelope(p) for p in programs]
    first = envelopes[0]
    for other, program in zip(envelopes[1:], programs[1:]):
        for key in ("params", "codebook_bits", "activation_banks"):
            if other.layout[key] != first.layout[key]:
                raise LoadFileError(f"one accelerator cannot hold models of different {key.replace('_', ' ')}: "
                                    f"{first.layout[key]} and {other.layout[key]}")
    widest = {name: max(e.layout["widths"][name] for e in envelopes) for name in first.layout["widths"]}
    params = programs[0].params
    stored = programs[0].codebook_bits or params.weight_bits
    return Envelope(
        capacity={s: max(e.capacity[s] for e in envelopes) for s in SECTIONS},
        word_bits={"steps": step_layout(params, ProgramWidths(**widest)).size, "weights": params.rows * stored,
                   "biases": params.rows * params.acc_bits, "codebooks": params.weight_bits},
        layout={**first.layout, "widths": widest, "activation_depth": max(e.activation_depth for e in envelopes)},
    )


def program_envelope(program: Program) -> Envelope:
    """The envelope of an accelerator whose memories are exactly as large as `program` needs."""
    p, w = program.params, program.widths
    stored = program.codebook_bits or p.weight_bits
    return Envelope(
        capacity={"steps": len(program.steps), "weights": len(program.weights), "biases": len(program.biases),
                  "codebooks": 0 if program.codebooks is None else len(program.codebooks)},
        word_bits={"steps": step_layout(p, w).size, "weights": p.rows * stored, "biases": p.rows * p.acc_bits,
                   "codebooks": p.weight_bits},
        layout={"params": p.to_dict(), "codebook_bits": program.codebook_bits, "widths": asdict(w),
                "activation_banks": program.memory.banks, "activation_depth": max(program.memory.bank_depth, 1)},
    )


def section_words(program: Program, widths: ProgramWidths | None = None) -> dict[str, list[int]]:
    """Each section's memory words as unsigned ints, in address order (the steps laid out with `widths`, by default
    the program's own)."""
    p, w = program.params, widths or program.widths
    stored = program.codebook_bits or p.weight_bits
    return {
        "steps": [encode_step(s, p, w).as_bits() for s in program.steps],
        "weights": [pack_lanes(word, stored) for word in program.weights],
        "biases": [pack_lanes(word, p.acc_bits) for word in program.biases],
        "codebooks": [] if program.codebooks is None else [int(v) & ((1 << p.weight_bits) - 1) for v in program.codebooks],
    }


def checksums(words: np.ndarray) -> tuple[int, int]:
    """Fletcher-style sums (A, B) mod 2**32 of `words`, as the loader computes them."""
    a = np.cumsum(words.astype(np.uint64) & _MASK, dtype=np.uint64) & _MASK  # wraps mod 2**64, then masked: exact
    return (int(a[-1]) if len(a) else 0), int(np.sum(a, dtype=np.uint64) & _MASK)


def encode_load(sections: dict[str, list[int]], envelope: Envelope) -> np.ndarray:
    """The load stream's words (uint32) that put `sections` (memory words by section) into `envelope`'s memories."""
    for name in SECTIONS:
        if len(sections[name]) > envelope.capacity[name]:
            raise LoadFileError(f"the model needs {len(sections[name])} {name} words; {envelope.describe()} holds "
                                f"{envelope.capacity[name]}")
    words = [MAGIC, envelope.id, *(len(sections[name]) for name in SECTIONS)]
    for name in SECTIONS:
        beats = envelope.beats(name)
        for value in sections[name]:
            words.extend((value >> (LOAD_WORD_BITS * b)) & _MASK for b in range(beats))
    stream = np.array(words, np.uint32)
    return np.concatenate([stream, np.array(checksums(stream), np.uint32)])


def load_stream(program: Program, envelope: Envelope) -> np.ndarray:
    """The load stream that puts `program` into an accelerator of `envelope` (refused, with what does not fit)."""
    short = envelope_shortfalls(program, envelope)
    if short:
        raise LoadFileError(f"the model does not fit {envelope.describe()}: " + "; ".join(short))
    return encode_load(section_words(program, envelope.widths), envelope)


@dataclass(frozen=True)
class LoadFile:
    header: dict[str, Any]
    words: np.ndarray

    @property
    def envelope(self) -> Envelope:
        return Envelope.from_dict(self.header["envelope"])


def write_load_file(path: str | os.PathLike, program: Program, envelope: Envelope, *, model: str, graph_sha256: str) -> LoadFile:
    words = load_stream(program, envelope)
    a, b = (int(v) for v in words[-TRAILER_WORDS:])
    header = {"format": FILE_VERSION, "model": model, "graph_sha256": graph_sha256, "envelope": envelope.to_dict(),
              "words": len(words), "checksum": [f"{a:08x}", f"{b:08x}"]}
    text = json.dumps(header, sort_keys=True).encode()

    def write(f) -> None:
        f.write(FILE_MAGIC + len(text).to_bytes(4, "little") + text)
        f.write(words.astype("<u4").tobytes())

    write_atomic(Path(path), write, binary=True)
    return LoadFile(header, words)


def read_load_file(path: str | os.PathLike, envelope: Envelope | None = None) -> LoadFile:
    """The load file at `path`, checked whole (header, length, checksum) and, given `envelope`, against it."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.startswith(FILE_MAGIC) or len(raw) < len(FILE_MAGIC) + 4:
        raise LoadFileError(f"{path} is not a firebrick load file (it does not start with {FILE_MAGIC!r})")
    start = len(FILE_MAGIC) + 4
    length = int.from_bytes(raw[len(FILE_MAGIC):start], "little")
    try:
        header = json.loads(raw[start:start + length])
        if header["format"] != FILE_VERSION:
            raise LoadFileError(f"{path} is load file format {header['format']!r}; this firebrick reads {FILE_VERSION}: "
                                "rebuild it with `firebrick build`")
        stored = Envelope.from_dict(header["envelope"])
        count = int(header["words"])
    except (ValueError, KeyError, TypeError) as exc:
        raise LoadFileError(f"{path} has a damaged header ({type(exc).__name__}: {exc}); rebuild it with `firebrick build`") from None
    body = raw[start + length:]
    if len(body) != 4 * count:
        raise LoadFileError(f"{path} is truncated or padded: its header says {count} words, it holds {len(body) / 4:g}")
    words = np.frombuffer(body, "<u4").astype(np.uint32)
    if count < HEADER_WORDS + TRAILER_WORDS or int(words[0]) != MAGIC:
        raise LoadFileError(f"{path}: the stream does not start with the load magic; rebuild it with `firebrick build`")
    if tuple(int(v) for v in words[-TRAILER_WORDS:]) != checksums(words[:-TRAILER_WORDS]):
        raise LoadFileError(f"{path} is corrupted: its checksum does not match its words; rebuild it with `firebrick build`")
    if int(words[1]) != stored.id or header["envelope"].get("id") != f"{stored.id:08x}":
        raise LoadFileError(f"{path} is corrupted: its header's envelope and its stream's disagree")
    if envelope is not None and stored.id != envelope.id:
        raise LoadFileError(f"{path} was made for {stored.describe()}; this accelerator is {envelope.describe()}: "
                            "write the model's load file for this build")
    return LoadFile(header, words)
