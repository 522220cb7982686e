"""A build folder and its manifest: one typed object that writes and reads `manifest.json`.

`firebrick build` writes BUILD_DIR/accelerator.v, BUILD_DIR/model.fbg (the
graph, which the simulator's golden model and a rebuild need), for an
accelerator loaded at run time BUILD_DIR/weights.fbl (its load file,
hw/load_format.py) and
BUILD_DIR/manifest.json (`BuildManifest`), the manifest last and holding the
SHA-256 of the others, after removing the old one first: a build killed
half-way leaves no manifest, and files from two builds (or an edited one) do
not match it. Simulation, place-and-route and the sweeps' RTL checks read the
folder through `load_build`, which checks it is complete, consistent and of
this version, and compiles the program once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import firebrick
from firebrick.atomic import write_json_atomic
from firebrick.boards.board import BOARDS_DIR
from firebrick.boards.fit import FitEstimate
from firebrick.errors import FirebrickError
from firebrick.hw.compiler import Program, compile_graph
from firebrick.hw.load_format import Envelope
from firebrick.hw.memories import MemoryShape, sram_bits
from firebrick.hw.params import ArrayParams
from firebrick.hw.schedule import LayerSchedule
from firebrick.quant.fbg import load_graph
from firebrick.quant.graph import Graph

#: bumped whenever the manifest's keys or the accelerator's interface change
MANIFEST_VERSION = 6
MANIFEST = "manifest.json"
VERILOG = "accelerator.v"
GRAPH = "model.fbg"
#: an AXI build's register map, as JSON and as a C header (hw/axi_accelerator.py)
REGISTERS_JSON = "registers.json"
REGISTERS_HEADER = "registers.h"
BUILD_FILES = (VERILOG, MANIFEST, GRAPH)
#: how `board_file` names a board file that comes with firebrick
BUILTIN_BOARD_PREFIX = "firebrick/boards/"


def portable_board_file(source: str | os.PathLike, build_dir: str | os.PathLike) -> str:
    """`board_file` for the manifest: built-in boards by their package path, a user's file relative to the build folder."""
    if not source:
        return ""
    path = Path(source).resolve()
    if path.parent == BOARDS_DIR.resolve():
        return BUILTIN_BOARD_PREFIX + path.name
    return os.path.relpath(path, Path(build_dir).resolve())


class BuildDirError(FirebrickError):
    """A build directory that is incomplete or from another version."""


@dataclass(frozen=True)
class ImagePort:
    """The image stream: `lanes` pixels of one channel per beat, each `lane_bits` wide."""

    lanes: int
    lane_bits: int
    shape: tuple[int, int, int]
    format: str


@dataclass(frozen=True)
class ScorePort:
    count: int
    bits: int


@dataclass(frozen=True)
class VerilogInfo:
    file: str
    bytes: int
    lines: int
    seconds: float


@dataclass(frozen=True)
class BuildManifest:
    model: str
    board: str
    #: the board file the build was made for: `firebrick/boards/NAME.yaml` for a built-in board (inside the
    #: installed package), else its path relative to the build folder, so a build folder can be moved or shared
    board_file: str
    #: the clock frames/s, latency and energy are reported at: the board file's, or the one place-and-route met
    clock_mhz: float
    params: ArrayParams
    #: k when the weight memory holds k-bit codebook indices
    codebook_bits: int | None
    memories: tuple[MemoryShape, ...]
    #: the fit check's estimate; None for an ASIC technology
    fit_estimate: FitEstimate | None
    image: ImagePort
    scores: ScorePort
    #: the static schedule, phase by phase (exact: equal to the RTL's cycle counter)
    layers: tuple[LayerSchedule, ...]
    verilog: VerilogInfo
    #: where clock_mhz comes from: the board file's basis (oscillator, measured, assumed) or "place-and-route"
    clock_basis: str = "assumed"
    graph: str = GRAPH
    notes: tuple[str, ...] = ()
    #: SHA-256 of each file of the build the manifest describes (accelerator.v, model.fbg, weights.fbl), by name
    files: dict[str, str] = field(default_factory=dict)
    #: `build --synth / --place-route / --bitstream` reports (`synthesis`, `place_route`)
    implementation: dict[str, Any] | None = None
    #: the memories of a design loaded at run time (through `load_file`); None when the contents are baked in
    envelope: Envelope | None = None
    load_file: str | None = None
    #: the top level's ports: "native" (the accelerator's streams and debug port) or "axi" (AXI4-Stream load, image
    #: and scores, AXI4-Lite registers, with `register_map` in the folder)
    interface: str = "native"
    firebrick_version: str = firebrick.__version__
    version: int = MANIFEST_VERSION

    def board_path(self, build_dir: str | os.PathLike) -> Path | None:
        """The board file this build was made for, if it is still there (`board_file` resolved)."""
        if self.board_file.startswith(BUILTIN_BOARD_PREFIX):
            path = BOARDS_DIR / self.board_file[len(BUILTIN_BOARD_PREFIX):]
        else:
            path = Path(os.path.normpath(Path(build_dir) / self.board_file))
        return path if self.board_file and path.is_file() else None

    @property
    def loading(self) -> str:
        """How the memories get their contents: "run-time" (the load stream) or "baked" (initial values)."""
        return "baked" if self.envelope is None else "run-time"

    @property
    def register_map(self) -> tuple[str, ...]:
        """The register map's files in the build folder (an AXI build's; none for the native ports)."""
        return (REGISTERS_JSON, REGISTERS_HEADER) if self.interface == "axi" else ()

    @property
    def sram_bits(self) -> int:
        return sram_bits(list(self.memories))

    @property
    def cycles_per_frame(self) -> int:
        return sum(layer.cycles for layer in self.layers)

    @property
    def latency_us(self) -> float:
        return self.cycles_per_frame / self.clock_mhz

    @property
    def frames_per_second(self) -> float:
        return self.clock_mhz * 1e6 / self.cycles_per_frame

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def utilization(self) -> float:
        return self.macs / (self.cycles_per_frame * self.params.rows * self.params.cols)

    def with_implementation(self, implementation: dict[str, Any]) -> "BuildManifest":
        """The manifest with synthesis / place-and-route reports; a clock place-and-route met becomes the clock."""
        pr = implementation.get("place_route")
        if pr and pr.get("timing_met"):
            return replace(self, implementation=implementation, clock_mhz=pr["clock_mhz"], clock_basis="place-and-route")
        return replace(self, implementation=implementation)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (keys documented in README.md)."""
        return {
            "version": self.version,
            "firebrick_version": self.firebrick_version,
            "model": self.model,
            "board": self.board,
            "board_file": self.board_file,
            "clock_mhz": self.clock_mhz,
            "clock_basis": self.clock_basis,
            "params": {**self.params.to_dict(), "codebook_bits": self.codebook_bits},
            "memories": [m.to_dict() for m in self.memories],
            "sram_bits": self.sram_bits,
            "fit_estimate": None if self.fit_estimate is None else self.fit_estimate.to_dict(),
            "io": {
                "image": {"lanes": self.image.lanes, "lane_bits": self.image.lane_bits, "shape": list(self.image.shape),
                          "format": self.image.format},
                "scores": {"count": self.scores.count, "bits": self.scores.bits},
            },
            "layers": [layer.to_dict(self.params) for layer in self.layers],
            "cycles_per_frame": self.cycles_per_frame,
            "latency_us": self.latency_us,
            "frames_per_second": self.frames_per_second,
            "utilization": self.utilization,
            "verilog": {"file": self.verilog.file, "bytes": self.verilog.bytes, "lines": self.verilog.lines,
                        "seconds": self.verilog.seconds},
            "graph": self.graph,
            "notes": list(self.notes),
            "files": dict(self.files),
            "loading": self.loading,
            "envelope": None if self.envelope is None else self.envelope.to_dict(),
            "load_file": self.load_file,
            "interface": self.interface,
            "register_map": list(self.register_map),
            **({"implementation": self.implementation} if self.implementation is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BuildManifest":
        params = dict(d["params"])
        codebook_bits = params.pop("codebook_bits")
        io = d["io"]
        return cls(
            model=d["model"], board=d["board"], board_file=d["board_file"], clock_mhz=d["clock_mhz"],
            clock_basis=d["clock_basis"],
            params=ArrayParams(**params), codebook_bits=codebook_bits,
            memories=tuple(MemoryShape.from_dict(m) for m in d["memories"]),
            fit_estimate=None if d["fit_estimate"] is None else FitEstimate.from_dict(d["fit_estimate"]),
            image=ImagePort(io["image"]["lanes"], io["image"]["lane_bits"], tuple(io["image"]["shape"]), io["image"]["format"]),
            scores=ScorePort(io["scores"]["count"], io["scores"]["bits"]),
            layers=tuple(LayerSchedule.from_dict(layer) for layer in d["layers"]),
            verilog=VerilogInfo(**d["verilog"]), graph=d["graph"], notes=tuple(d["notes"]), files=dict(d["files"]),
            implementation=d.get("implementation"), firebrick_version=d["firebrick_version"], version=d["version"],
            envelope=None if d["envelope"] is None else Envelope.from_dict(d["envelope"]), load_file=d["load_file"],
            interface=d["interface"],
        )

    def write(self, build_dir: str | os.PathLike) -> Path:
        path = Path(build_dir) / MANIFEST
        write_json_atomic(path, self.to_dict())
        return path


def file_digest(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(build_dir: str | os.PathLike) -> BuildManifest:
    path = Path(build_dir) / MANIFEST
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BuildDirError(f"{path} is not valid JSON ({exc}); rebuild") from exc
    version = document.get("version") if isinstance(document, dict) else None
    if version != MANIFEST_VERSION:
        raise BuildDirError(f"{build_dir} was built by a firebrick with manifest version {version!r}, "
                            f"this one reads {MANIFEST_VERSION}; rebuild with `firebrick build`")
    try:
        return BuildManifest.from_dict(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise BuildDirError(f"{path} is damaged ({type(exc).__name__}: {exc}); rebuild with `firebrick build`") from exc


@dataclass
class Build:
    """A build folder: its manifest, its graph and (compiled on first use) its program."""

    directory: Path
    manifest: BuildManifest
    graph: Graph = field(repr=False)

    @cached_property
    def program(self) -> Program:
        return compile_graph(self.graph, self.manifest.params)

    @property
    def verilog_path(self) -> Path:
        return self.directory / VERILOG

    @property
    def load_path(self) -> Path | None:
        """The load file of a design loaded at run time; None when baked."""
        return None if self.manifest.load_file is None else self.directory / self.manifest.load_file


def load_build(build_dir: str | os.PathLike) -> Build:
    """A complete build folder of this version, or BuildDirError saying what is wrong and how to fix it."""
    directory = Path(build_dir)
    missing = [name for name in BUILD_FILES if not (directory / name).is_file()]
    if missing:
        raise BuildDirError(f"{directory} is not a complete build: missing {', '.join(missing)}; "
                            f"run `firebrick build MODEL.fbg -o {directory}`")
    manifest = read_manifest(directory)
    for name, digest in manifest.files.items():
        if not (directory / name).is_file() or file_digest(directory / name) != digest:
            raise BuildDirError(f"{directory} is a mixed or edited build: {name} is not the file its manifest was written "
                                f"with (an interrupted build, or an edit); run `firebrick build MODEL.fbg -o {directory}` again")
    return Build(directory, manifest, load_graph(directory / manifest.graph))
