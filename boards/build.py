"""Build an accelerator for a graph and a board: compile, refuse what does not fit, emit Verilog and the manifest.

By default the accelerator's memories are loaded at run time: the Verilog
carries no contents and the build folder holds the load file (weights.fbl)
that the simulator, or a host, streams into it. `bake_weights` puts the
contents into the memories' initial values instead (a standalone design,
one per model). `also_holds` sizes the loaded memories for other models too,
and `load_into_build` writes another model's build folder for an existing
accelerator (the same Verilog, its own load file).

The fit check runs on the compiled memories before any Verilog exists, so a
design the board cannot hold costs seconds, not minutes.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from firebrick.atomic import write_atomic, write_json_atomic
from firebrick.progress import stage
from firebrick.boards.board import DEFAULT_BOARD, Board, load_board
from firebrick.boards.fit import FitEstimate, check_fit as check_board_fit, describe_placement, in_lut_ram
from firebrick.boards.manifest import (
    GRAPH, MANIFEST, REGISTERS_HEADER, REGISTERS_JSON, VERILOG, BuildDirError, BuildManifest, ImagePort, ScorePort, VerilogInfo, file_digest, load_build,
    portable_board_file,
)
from firebrick.errors import FirebrickError
from firebrick.hw.axi_accelerator import register_map_header, register_map_json
from firebrick.hw.block_ram import LargeRam
from firebrick.hw.compiler import Program, compile_graph
from firebrick.hw.load_format import LOAD_FILE, Envelope, envelope_shortfalls, envelope_union, write_load_file
from firebrick.hw.memories import MemoryShape, program_memories
from firebrick.hw.params import ArrayParams, HardwareParamError
from firebrick.hw.schedule import network_utilization
from firebrick.hw.verilog import accelerator_verilog
from firebrick.quant.analyses import infer_shapes
from firebrick.quant.fbg import save_graph
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Conv


def check_program(graph: Graph, params: ArrayParams, program: Program, act_sram_words: int | None) -> list[str]:
    """Refuse what cannot work; return warnings for what works badly."""
    if act_sram_words is not None and program.memory.words > act_sram_words:
        raise HardwareParamError(
            f"activation SRAM too small: the largest set of live tensors needs {program.memory.words:,} words "
            f"({program.memory.words * params.lane_act_bits / 8 / 1024:.1f} KiB), the design allows {act_sram_words:,}"
        )
    shapes = infer_shapes(graph)
    convs = [(name, shapes[name]) for name, op in graph.items() if isinstance(op, Conv)]
    notes = []
    widest_channels = max(s[0] for _, s in convs)
    most_pixels = max(s[1] * s[2] for _, s in convs)
    if params.rows > widest_channels or params.cols > most_pixels:
        util = network_utilization(program.schedule, params)
        notes.append(
            f"the {params.rows}x{params.cols} array is wider than every layer (at most {widest_channels} channels, "
            f"{most_pixels} pixels): utilisation will be {util:.0%}"
        )
    return notes


def build_accelerator(
    graph: Graph, params: ArrayParams, output: str | os.PathLike, *, board: str | Board = DEFAULT_BOARD,
    act_sram_words: int | None = None, bake_weights: bool = False, also_holds: tuple[Graph, ...] = (),
    interface: str = "native",
) -> BuildManifest:
    """Compile, refuse what does not fit the board (before any Verilog), emit Verilog, manifest, graph and (unless
    `bake_weights`) the load file. `also_holds`: other models the accelerator's memories must hold as well (its
    envelope is the union; each gets its load file later with `firebrick load-file`). `interface` "axi": the top
    level is the AXI one (hw/axi_accelerator.py), and the folder holds its register map as JSON and a C header."""
    board = board if isinstance(board, Board) else load_board(board)
    if also_holds and bake_weights:
        raise HardwareParamError("a baked design holds its own model only; drop --bake-weights to size the memories for others")
    if interface == "axi" and bake_weights:
        raise HardwareParamError("the AXI accelerator is loaded at run time through s_axis_load; drop --bake-weights "
                                 "(or build the native interface to bake the weights in)")
    program = compile_graph(graph, params)
    notes = check_program(graph, params, program, act_sram_words)
    envelope = envelope_union([program] + [compile_graph(g, params) for g in also_holds]) if not bake_weights else None
    if board.clock_basis == "assumed":  # said where the figures are read, not only in the board file
        notes.append(f"frames/s, latency and energy are at {board.clock_mhz:g} MHz, an assumption of the {board.name} board "
                     "file that no place-and-route has timed")
    loadable = not bake_weights
    memories = program_memories(program, loadable=loadable, envelope=envelope)
    fit = check_board_fit(memories, params.rows * params.cols, board, cols=params.cols)
    how = "memories loaded at run time" if loadable else "weights baked in"
    large_ram = large_ram_of(fit, board, memories)
    if large_ram is not None:
        how += f"; {describe_placement(fit.in_other_ram)} in {board.resources.other_ram.primitive}"
    with stage("generating the accelerator's Verilog with Amaranth", f"{params.rows}x{params.cols} array, {len(program.steps)} steps, {how}"):
        verilog = accelerator_verilog(program, loadable=loadable, envelope=envelope, interface=interface, large_ram=large_ram)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / MANIFEST).unlink(missing_ok=True)  # until the new one is written, the folder is no build
    for stale in (LOAD_FILE, REGISTERS_JSON, REGISTERS_HEADER):  # written below if this build has them: a stale one
        (output / stale).unlink(missing_ok=True)  # must not pass for this build's
    verilog_path = output / VERILOG
    if not (verilog_path.is_file() and verilog_path.read_bytes() == verilog.text.encode()):
        write_atomic(verilog_path, lambda f: f.write(verilog.text))
    # else left as it is, timestamp and all: the simulators' compiled models of it stay current (no rebuild)
    save_graph(graph, output / GRAPH)  # the simulator's golden model travels with the build
    if envelope is not None:
        write_load_file(output / LOAD_FILE, program, envelope, model=graph.name, graph_sha256=file_digest(output / GRAPH))
    register_files = _write_register_map(output, envelope) if interface == "axi" else ()
    source = graph.op(graph.input)
    manifest = BuildManifest(
        model=graph.name, board=board.name, board_file=portable_board_file(board.source, output), clock_mhz=board.clock_mhz,
        clock_basis=board.clock_basis,
        params=params, codebook_bits=program.codebook_bits, memories=tuple(memories), fit_estimate=fit,
        image=ImagePort(params.cols, params.lane_act_bits, tuple(source.shape), str(source.fmt)),
        scores=ScorePort(program.num_classes, params.lane_act_bits + 1),
        layers=tuple(program.schedule),
        verilog=VerilogInfo(VERILOG, len(verilog.text), verilog.lines, verilog.seconds),
        notes=tuple(notes),
        files={name: file_digest(output / name) for name in (VERILOG, GRAPH) + ((LOAD_FILE,) if loadable else ()) + register_files},
        envelope=envelope, load_file=LOAD_FILE if loadable else None, interface=interface,
    )
    manifest.write(output)
    return manifest


def large_ram_of(fit: FitEstimate | None, board: Board, memories: list[MemoryShape]) -> LargeRam | None:
    """The memories that the fit check put in the board's large RAM and, of those without contents, the ones it
    counted in block RAM, as the generator marks them; None when the large RAM holds none."""
    if fit is None or not fit.in_other_ram:
        return None
    other = board.resources.other_ram
    block = frozenset(m.name for m in memories if not m.initialised and not in_lut_ram(m, board)
                      and fit.in_other_ram.get(m.name, 0) < m.banks)
    return LargeRam(style=other.ram_style, block_depth=other.native_shape[0],
                    banks=tuple(fit.in_other_ram.items()), in_block_ram=block, single_port=other.single_port)


def _write_register_map(output: Path, envelope: Envelope) -> tuple[str, ...]:
    """An AXI build's register map (the README's table) as JSON and as a C header; their names."""
    write_json_atomic(output / REGISTERS_JSON, register_map_json(envelope))
    header = register_map_header(envelope)
    write_atomic(output / REGISTERS_HEADER, lambda f: f.write(header))
    return REGISTERS_JSON, REGISTERS_HEADER


def load_into_build(graph: Graph, build_dir: str | os.PathLike, output: str | os.PathLike) -> BuildManifest:
    """Another model for an existing accelerator: if it fits the build's envelope, a build folder `output` with the
    same Verilog (byte for byte: the same design, no generation), this model's graph and load file and its
    manifest; else refused with what does not fit."""
    build = load_build(build_dir)
    existing = build.manifest
    if existing.envelope is None:
        raise BuildDirError(f"{build.directory} holds a baked design (its weights are in its Verilog): no other model loads "
                            "into it; build it without --bake-weights")
    params = existing.params
    program = compile_graph(graph, params)
    short = envelope_shortfalls(program, existing.envelope)
    if short:
        raise FirebrickError(f"{graph.name} does not fit the accelerator of {build.directory} ({existing.envelope.describe()}): "
                             + "; ".join(short) + f". Build one that holds both: firebrick build {build.directory / GRAPH} "
                             f"--board {existing.board} --rows {params.rows} --cols {params.cols} --also-holds THIS_MODEL.fbg")
    notes = check_program(graph, params, program, None)
    output = Path(output)
    if output.resolve() == build.directory.resolve():
        raise FirebrickError(f"write the other model's build to another folder than {build.directory} (-o)")
    output.mkdir(parents=True, exist_ok=True)
    (output / MANIFEST).unlink(missing_ok=True)
    verilog = build.verilog_path.read_bytes()
    if not ((output / VERILOG).is_file() and (output / VERILOG).read_bytes() == verilog):
        write_atomic(output / VERILOG, lambda f: f.write(verilog), binary=True)
    save_graph(graph, output / GRAPH)
    write_load_file(output / LOAD_FILE, program, existing.envelope, model=graph.name, graph_sha256=file_digest(output / GRAPH))
    register_files = _write_register_map(output, existing.envelope) if existing.interface == "axi" else ()
    source = graph.op(graph.input)
    board_path = existing.board_path(build.directory)
    manifest = replace(
        existing, model=graph.name, board_file=portable_board_file(board_path, output) if board_path else existing.board_file,
        image=ImagePort(params.cols, params.lane_act_bits, tuple(source.shape), str(source.fmt)),
        scores=ScorePort(program.num_classes, params.lane_act_bits + 1), layers=tuple(program.schedule),
        notes=tuple(notes + [f"loads into the accelerator of {build.directory} (envelope {existing.envelope.id:08x}); its "
                             "Verilog, copied here unchanged"]),
        files={name: file_digest(output / name) for name in (VERILOG, GRAPH, LOAD_FILE) + register_files}, implementation=None,
    )
    manifest.write(output)
    return manifest
