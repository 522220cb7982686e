"""Build an accelerator for a graph and a board: compile, refuse what does not fit, emit Verilog and the manifest.

By default the accelerator's memories are loaded at run time: the Verilog
carries no contents and the build folder holds the load file (weights.fbl)
that the simulator, or a host, streams into it. `bake_weights` puts the
contents into the memories' initial values instead (a standalone design,
one per model).

The fit check runs on the compiled memories before any Verilog exists, so a
design the board cannot hold costs seconds, not minutes.
"""

from __future__ import annotations

import os
from pathlib import Path

from firebrick.atomic import write_atomic
from firebrick.progress import stage
from firebrick.boards.board import DEFAULT_BOARD, Board, load_board
from firebrick.boards.fit import check_fit as check_board_fit
from firebrick.boards.manifest import (
    GRAPH, MANIFEST, VERILOG, BuildManifest, ImagePort, ScorePort, VerilogInfo, file_digest, portable_board_file,
)
from firebrick.hw.compiler import Program, compile_graph
from firebrick.hw.load_format import LOAD_FILE, program_envelope, write_load_file
from firebrick.hw.memories import program_memories
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
    act_sram_words: int | None = None, bake_weights: bool = False,
) -> BuildManifest:
    """Compile, refuse what does not fit the board (before any Verilog), emit Verilog, manifest, graph and (unless
    `bake_weights`) the load file."""
    board = board if isinstance(board, Board) else load_board(board)
    program = compile_graph(graph, params)
    notes = check_program(graph, params, program, act_sram_words)
    if board.clock_basis == "assumed":  # said where the figures are read, not only in the board file
        notes.append(f"frames/s, latency and energy are at {board.clock_mhz:g} MHz, an assumption of the {board.name} board "
                     "file that no place-and-route has timed")
    loadable = not bake_weights
    memories = program_memories(program, loadable=loadable)
    fit = check_board_fit(memories, params.rows * params.cols, board, cols=params.cols)
    how = "memories loaded at run time" if loadable else "weights baked in"
    with stage("generating the accelerator's Verilog with Amaranth", f"{params.rows}x{params.cols} array, {len(program.steps)} steps, {how}"):
        verilog = accelerator_verilog(program, loadable=loadable)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / MANIFEST).unlink(missing_ok=True)  # until the new one is written, the folder is no build
    (output / LOAD_FILE).unlink(missing_ok=True)  # a baked build has none; a stale one must not look like its
    verilog_path = output / VERILOG
    if not (verilog_path.is_file() and verilog_path.read_bytes() == verilog.text.encode()):
        write_atomic(verilog_path, lambda f: f.write(verilog.text))
    # else left as it is, timestamp and all: the simulators' compiled models of it stay current (no rebuild)
    save_graph(graph, output / GRAPH)  # the simulator's golden model travels with the build
    envelope = program_envelope(program) if loadable else None
    if envelope is not None:
        write_load_file(output / LOAD_FILE, program, envelope, model=graph.name, graph_sha256=file_digest(output / GRAPH))
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
        files={name: file_digest(output / name) for name in (VERILOG, GRAPH) + ((LOAD_FILE,) if loadable else ())},
        envelope=envelope, load_file=LOAD_FILE if loadable else None,
    )
    manifest.write(output)
    return manifest
