"""The `firebrick` command line.

Every reporting command takes `--json` and then prints exactly one JSON
document on stdout (keys documented in README.md); progress and messages go to
stderr. User errors print one line and exit 1; usage errors exit 2.
"""

from __future__ import annotations
import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from firebrick.cli.board_commands import cmd_boards
from firebrick import progress
from firebrick.errors import FirebrickError
from firebrick.cli.explore_commands import add_explore_parser
from firebrick.cli.hardware_commands import cmd_build, cmd_estimate, cmd_evaluate, cmd_load_file, cmd_quantize, cmd_simulate
from firebrick.cli.model_commands import cmd_cost, cmd_flow, cmd_models, cmd_train

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130


def _add_train_options(p: argparse.ArgumentParser) -> None:
    from firebrick.models.train_config import TrainConfig

    d = TrainConfig()
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default {d.epochs})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"(default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate, cosine schedule (default {d.lr})")
    p.add_argument("--max-shift", type=int, default=d.max_shift, help=f"augmentation: random shift in pixels (default {d.max_shift})")
    p.add_argument("--seed", type=int, default=d.seed, help="seed for init, shuffling, dropout (default 0)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (default 1; parallel sweeps run one per process)")
    p.add_argument("--workers", type=int, help="data-parallel worker processes (torch.distributed, gloo); the global batch is "
                                               "workers x --batch-size and the peak rate workers x --lr (default 1; under "
                                               "torchrun: the workers it started)")
    p.add_argument("--warmup-epochs", type=int, help="epochs of linear warm-up from --lr to workers x --lr "
                                                     "(default 0 for one worker, else 5 %% of the epochs, at least 1 where there are two)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    from firebrick.boards.board import DEFAULT_BOARD
    from firebrick.models.zoo import DEFAULT_MODEL

    parser = argparse.ArgumentParser(prog="firebrick", description="Co-design CNNs and the accelerators that run them.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __import__("firebrick").__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("models", help="list the model zoo with parameters and MACs")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("cost", help="per-layer parameters, MACs and activation sizes of a model")
    p.add_argument("model", metavar="MODEL", help="a zoo name (see `firebrick models`) or a checkpoint file")
    p.add_argument("--input", type=int, help="input side in pixels (default: the model's)")
    p.add_argument("--bits", type=int, default=8, help="activation bit width (default 8)")
    p.add_argument("--weight-bits", type=int, default=8, help="weight bit width (default 8)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_cost)

    p = sub.add_parser("train", help="train a model on a dataset and save a checkpoint (resumes an interrupted run)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"zoo name (default {DEFAULT_MODEL})")
    p.add_argument("--dataset", help="digits, mnist, or an image folder (default: the model's own)")
    p.add_argument("-o", "--output", type=Path, help="checkpoint file (default firebrick-out/MODEL-DATASET.pt)")
    p.add_argument("--input", type=int, help="input side in pixels (default: the model's)")
    p.add_argument("--fit", choices=("resize", "pad"), default="resize", help="how images meet the input size")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/val/test split (default 0)")
    p.add_argument("--overwrite", action="store_true", help="start afresh even if the output holds another run")
    _add_train_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("quantize", help="quantize a checkpoint to a dataflow graph of integer ops (.fbg)")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint from `firebrick train`, or your own model: MODEL.onnx "
                                                            "(torch.onnx.export) or MODEL.pt2 (torch.export.save); needs --dataset")
    p.add_argument("--bits", type=int, default=8, help="weight and activation bit width (default 8; 2..16)")
    p.add_argument("--weight-bits", type=int, help="weight bit width (default --bits)")
    p.add_argument("--act-bits", type=int, help="activation bit width (default --bits)")
    p.add_argument("--codebook-bits", type=int, help="share weights: 2^K centroids per layer, K-bit indices (2..8)")
    p.add_argument("--prune", type=float, default=0.0, help="fraction of smallest weights set to zero per layer")
    p.add_argument("--finetune", type=int, default=0, metavar="EPOCHS", help="quantization-aware fine-tuning epochs (default 0)")
    p.add_argument("--calibration", type=int, default=256, metavar="N", help="calibration images from the train split (default 256)")
    p.add_argument("--layer-bits", action="append", metavar="LAYER=W[:A]", help="per-layer bit widths, repeatable")
    p.add_argument("--dataset", help="calibration/evaluation data (default: the checkpoint's)")
    p.add_argument("-o", "--output", type=Path, help="graph file (default CHECKPOINT with .fbg)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("evaluate", help="accuracy of a quantized graph through the golden integer executor")
    p.add_argument("graph", metavar="MODEL.fbg")
    p.add_argument("--dataset", help="digits, mnist or an image folder (default: the graph's)")
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("boards", help="list the boards and technologies with their resources")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("build", help="generate the accelerator's Verilog and manifest for a graph and a board")
    p.add_argument("graph", metavar="MODEL.fbg", help="a graph file from `firebrick quantize`")
    p.add_argument("--board", default=DEFAULT_BOARD, help=f"a board name (`firebrick boards`) or a board YAML file (default {DEFAULT_BOARD})")
    p.add_argument("--rows", type=int, default=8, help="array rows: output channels at once (default 8)")
    p.add_argument("--cols", type=int, default=8, help="array columns: output pixels at once, a power of two (default 8)")
    p.add_argument("--act-bits", type=int, default=8, help="activation width (default 8)")
    p.add_argument("--weight-bits", type=int, default=8, help="weight width (default 8)")
    p.add_argument("--acc-bits", type=int, default=32, help="accumulator width (default 32)")
    p.add_argument("--act-sram-words", type=int, help="cap on activation SRAM words (default: what the model needs)")
    p.add_argument("-o", "--output", default="firebrick-out/build", help="output folder (default firebrick-out/build)")
    p.add_argument("--bake-weights", action="store_true",
                   help="put the program, weights and biases into the Verilog's memory contents (a standalone design); "
                        "default: memories loaded at run time from the build's weights.fbl through the load stream")
    p.add_argument("--interface", choices=("native", "axi"), default="native",
                   help="the top level's ports: native (the accelerator's streams and debug port, default) or axi "
                        "(AXI4-Stream load/image/scores and an AXI4-Lite register block; writes registers.json and "
                        "registers.h; loaded at run time)")
    p.add_argument("--also-holds", nargs="+", default=[], metavar="OTHER.fbg",
                   help="size the loaded memories and program fields to hold these models too (one accelerator for all; "
                        "`firebrick load-file` writes each one's build folder)")
    p.add_argument("--synth", action="store_true", help="also synthesize with Yosys for the board: resource use (minutes)")
    p.add_argument("--place-route", action="store_true", help="also place and route with nextpnr (Lattice boards): Fmax")
    p.add_argument("--bitstream", action="store_true", help="also place, route and pack a bitstream (Lattice boards)")
    p.add_argument("--clock", type=float, metavar="MHZ",
                   help="with --place-route/--bitstream: the PLL clock to place and route at (default: the fastest the design "
                        "meets, with margin, found from the board file's clock)")
    p.add_argument("--json", action="store_true", help="print the manifest as one JSON document")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("load-file", help="another model for an existing accelerator: check it fits the build's memories "
                                         "and write a build folder with the same Verilog and this model's load file")
    p.add_argument("build_dir", metavar="BUILD_DIR", help="a build folder from `firebrick build` (not baked)")
    p.add_argument("graph", metavar="MODEL.fbg", help="the model to load into that accelerator")
    p.add_argument("-o", "--output", required=True, help="the new build folder (then `firebrick simulate` it)")
    p.add_argument("--json", action="store_true", help="print the manifest as one JSON document")
    p.set_defaults(func=cmd_load_file)

    p = sub.add_parser("estimate", help="what-if without Verilog: cycles, frames/s, utilisation, energy, memory and fit "
                                         "of a model on a board and array (seconds)")
    p.add_argument("model", metavar="MODEL", help="a zoo name, a checkpoint, a graph file (.fbg), or your own model "
                                                 "(.onnx, .pt2)")
    p.add_argument("--board", default=DEFAULT_BOARD, help=f"a board name or a board YAML file (default {DEFAULT_BOARD})")
    p.add_argument("--rows", type=int, default=8, help="array rows (default 8)")
    p.add_argument("--cols", type=int, default=8, help="array columns, a power of two (default 8)")
    p.add_argument("--input", type=int, help="input side in pixels (default: the model's)")
    p.add_argument("--bits", type=int, default=8, help="weight and activation bits (default 8)")
    p.add_argument("--codebook-bits", type=int, help="codebook weights: K-bit indices")
    p.add_argument("--clock", type=float, metavar="MHZ", help="price at this clock instead of the board file's")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("simulate", help="run frames through a build's Verilog (cocotb + Verilator), bit-exact check, cycles")
    p.add_argument("build_dir", metavar="BUILD_DIR", help="a folder written by `firebrick build`")
    p.add_argument("--image", help="one image file (PNG, JPEG...) instead of dataset images")
    p.add_argument("--dataset", help="test images from this dataset (default: the model's)")
    p.add_argument("--count", type=int, default=8, help="frames from the dataset's test split (default 8)")
    p.add_argument("--check-layers", type=int, default=1, metavar="N", help="compare every layer on the first N frames (default 1)")
    p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    p.add_argument("--waves", action="store_true", help="dump waveforms in the simulator's build folder")
    p.add_argument("--energy-board", metavar="BOARD", help="price energy with another board's table, e.g. asic45 (default: the build's board)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("flow", help="the whole flow on the built-in default: train (or reuse), quantize, build, simulate, report")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"zoo name (default {DEFAULT_MODEL})")
    p.add_argument("--dataset", help="digits, mnist, or an image folder (default: the model's own)")
    p.add_argument("-o", "--output", default="firebrick-out", help="output folder (default firebrick-out)")
    p.add_argument("--frames", type=int, default=2, help="test images to simulate on Verilator (default 2; 0 skips)")
    _add_train_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_flow)

    add_explore_parser(sub)
    _every_command_takes_no_progress(parser)
    return parser


def _every_command_takes_no_progress(parser: argparse.ArgumentParser) -> None:
    """`--no-progress` on every command (bars and stage lines off), where a command did not define its own."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                groups = any(isinstance(a, argparse._SubParsersAction) for a in command._actions)
                if not groups and not any(a.dest == "no_progress" for a in command._actions):
                    command.add_argument("--no-progress", action="store_true", help="no progress bars or stage lines")
                _every_command_takes_no_progress(command)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress.enable(not getattr(args, "no_progress", False))  # stage lines on stderr, also off a terminal
    try:
        args.func(args)
    except FirebrickError as exc:
        print(f"firebrick {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `firebrick ... --json | head`: the reader left, not an error
        # Python's documented recipe: point stdout at devnull so the exit-time flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"firebrick {args.command}: interrupted; finished work is saved, rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # the file system refused (permission, disk full, read-only): the machine's state, not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"firebrick {args.command}: error: {where}{exc.strerror or exc}; free or choose another path and run again",
              file=sys.stderr)
        return EXIT_USER_ERROR
    finally:
        progress.enable(False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
