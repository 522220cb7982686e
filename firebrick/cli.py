"""The `firebrick` command line.

Every reporting command takes `--json` and then prints exactly one JSON
document on stdout (keys documented in README.md); progress and messages go to
stderr. User errors print one line and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from firebrick.errors import FirebrickError

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130


def _emit(args: argparse.Namespace, document: dict[str, Any], text: str) -> None:
    if args.json:
        json.dump(document, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(text)


def _resolve_model(name: str, input_size: int | None):
    """A zoo name or a checkpoint path -> (torch model, display name)."""
    from firebrick.models.checkpoint import load_checkpoint
    from firebrick.models.firenet import FireNet
    from firebrick.models.zoo import ZOO, model_spec

    if name not in ZOO and (Path(name).suffix == ".pt" or Path(name).exists()):
        spec = load_checkpoint(name).spec
    else:
        spec = model_spec(name)
    if input_size is not None:
        spec = spec.replace(input_size=input_size)
    return FireNet(spec), spec.name


def cmd_models(args: argparse.Namespace) -> None:
    from firebrick.models.cost import model_cost
    from firebrick.models.firenet import FireNet
    from firebrick.models.zoo import DEFAULT_MODEL, ZOO
    from firebrick.table import format_table

    rows = []
    for entry in ZOO.values():
        spec = entry.build_spec()
        cost = model_cost(FireNet(spec))
        rows.append(
            {
                "name": entry.name,
                "input": [spec.input_channels, spec.input_size, spec.input_size],
                "classes": spec.num_classes,
                "params": cost.params,
                "macs": cost.macs,
                "hardware_ready": spec.hardware_ready,
                "dataset": entry.dataset,
                "description": entry.description,
            }
        )
    text = format_table(
        ["model", "input", "params", "MACs", "hw-ready", "dataset", "description"],
        [[r["name"], r["input"], r["params"], r["macs"], r["hardware_ready"], r["dataset"] or "-", r["description"]] for r in rows],
    )
    _emit(args, {"default": DEFAULT_MODEL, "models": rows}, text + f"\n\ndefault: {DEFAULT_MODEL}")


def cmd_cost(args: argparse.Namespace) -> None:
    from firebrick.models.cost import model_cost
    from firebrick.table import format_table

    model, name = _resolve_model(args.model, args.input)
    cost = model_cost(model, weight_bits=args.weight_bits, activation_bits=args.bits, name=name)
    rows = [
        [l.name, l.kind, l.in_shape, l.out_shape, l.kernel, l.stride, l.params, l.macs, l.activation_bytes]
        for l in cost.layers
    ]
    table = format_table(["layer", "kind", "in", "out", "k", "s", "params", "MACs", "act bytes"], rows)
    totals = (
        f"{name} at {'x'.join(map(str, cost.input_shape))}: {cost.params:,} params, {cost.macs:,} MACs, "
        f"{cost.weight_bytes:,} weight bytes at {cost.weight_bits} bits (+32-bit biases), "
        f"largest activation {cost.peak_activation_bytes:,} bytes at {cost.activation_bits} bits"
    )
    _emit(args, cost.to_dict(), table + "\n\n" + totals)


def _train_config(args: argparse.Namespace):
    from firebrick.models.training import TrainConfig

    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, max_shift=args.max_shift)


def cmd_train(args: argparse.Namespace) -> None:
    from firebrick.flow import resolve_dataset, training_spec
    from firebrick.models.cost import model_cost
    from firebrick.models.training import train
    from firebrick.table import format_table

    dataset_name = resolve_dataset(args.model, args.dataset)
    spec, dataset = training_spec(args.model, dataset_name, input_size=args.input, fit=args.fit, seed=args.split_seed)
    output = args.output or Path("firebrick-out") / f"{spec.name}-{Path(dataset_name).name}.pt"
    checkpoint = train(
        spec, dataset, _train_config(args), output,
        overwrite=args.overwrite, progress=False if args.no_progress else None, threads=args.threads,
    )
    cost = model_cost(checkpoint.build_model())
    meta = checkpoint.metadata
    document = {
        "checkpoint": str(output),
        "model": spec.name,
        "dataset": meta["dataset"],
        "params": cost.params,
        "macs": cost.macs,
        "epochs": meta["epochs_done"],
        "train_seconds": meta["train_seconds"],
        "accuracy": meta["accuracy"],
        "history": meta["history"],
    }
    acc = meta["accuracy"]
    text = format_table(
        ["model", "dataset", "params", "MACs", "epochs", "seconds", "train acc", "val acc", "test acc"],
        [[spec.name, dataset_name, cost.params, cost.macs, meta["epochs_done"], round(meta["train_seconds"], 1),
          acc["train"], acc["val"], acc["test"]]],
    )
    _emit(args, document, text + f"\n\ncheckpoint: {output}")


def _layer_bits(values: list[str]) -> dict:
    from firebrick.quant.quantize import LayerBits

    overrides = {}
    for value in values or []:
        try:
            name, bits = value.split("=", 1)
            weight, _, act = bits.partition(":")
            overrides[name] = LayerBits(int(weight) if weight else None, int(act) if act else None)
        except ValueError:
            raise FirebrickError(f"--layer-bits {value!r}: write LAYER=WEIGHT_BITS[:ACTIVATION_BITS], e.g. conv1=6:8") from None
    return overrides


def _quant_config(args: argparse.Namespace):
    from firebrick.quant.quantize import QuantConfig

    return QuantConfig(
        weight_bits=args.weight_bits or args.bits, activation_bits=args.act_bits or args.bits,
        codebook_bits=args.codebook_bits, prune=args.prune, overrides=_layer_bits(args.layer_bits),
    )


def _quant_text(report: dict, output: str) -> str:
    from firebrick.table import format_table

    rows = [
        [l["name"], l["kind"], l.get("in_format", ""), l.get("weight_format", "") + (f" cb{l['codebook_bits']}" if l.get("codebook_bits") else ""),
         l["out_format"], l.get("shift"), l.get("weight_bytes"), l.get("macs"), l.get("saturated")]
        for l in report["layers"]
    ]
    table = format_table(["layer", "kind", "in", "weights", "out", "shift", "weight bytes", "MACs", "saturated"], rows)
    wrapped = [l["name"] for l in report["layers"] if l.get("wrapped")]
    warning = (
        f"\nWARNING: the accumulator overflowed (wrapped) in {', '.join(wrapped)}; use fewer bits or a wider accumulator"
        if wrapped else ""
    )
    return (
        table + warning + "\n\nformats: s/u = signed/unsigned, then bits.fractional_bits (value = int * 2^-frac)\n"
        f"accuracy on {report['dataset']['name']} test split: float {report['float_accuracy']:.4f}, "
        f"quantized {report['quant_accuracy']:.4f} (drop {report['accuracy_drop_pp']:.2f} pp)\ngraph: {output}"
    )


def cmd_quantize(args: argparse.Namespace) -> None:
    from firebrick.quant.fbg import save_graph
    from firebrick.quant.pipeline import quantize_checkpoint

    output = args.output or Path(args.checkpoint).with_suffix(".fbg")
    graph, report = quantize_checkpoint(
        args.checkpoint, _quant_config(args), dataset_name=args.dataset, calibration_images=args.calibration,
        finetune_epochs=args.finetune, progress=False if args.no_progress else None,
    )
    save_graph(graph, output)
    document = {"graph": str(output), **report.to_dict()}
    _emit(args, document, _quant_text(document, str(output)))


def cmd_evaluate(args: argparse.Namespace) -> None:
    import time

    from firebrick.quant.fbg import load_graph
    from firebrick.quant.pipeline import dataset_for, graph_accuracy, input_shape

    graph = load_graph(args.graph)
    dataset = dataset_for(graph.meta, input_shape(graph), args.dataset)
    began = time.perf_counter()
    accuracy = graph_accuracy(graph, dataset, args.split)
    seconds = time.perf_counter() - began
    images = len(dataset.splits[args.split])
    document = {
        "graph": str(args.graph), "dataset": dataset.describe(), "split": args.split, "images": images,
        "accuracy": accuracy, "images_per_second": images / seconds,
    }
    _emit(args, document, f"{args.graph}: {accuracy:.4f} top-1 on {images} {args.split} images of {dataset.name} "
                          f"(golden integer executor, {images / seconds:.0f} images/s)")


def cmd_build(args: argparse.Namespace) -> None:
    from firebrick.hw.build import build_accelerator
    from firebrick.hw.params import ArrayParams
    from firebrick.quant.fbg import load_graph
    from firebrick.table import format_table

    graph = load_graph(args.graph)
    params = ArrayParams(rows=args.rows, cols=args.cols, act_bits=args.act_bits, weight_bits=args.weight_bits, acc_bits=args.acc_bits)
    manifest = build_accelerator(graph, params, args.output, board=args.board, act_sram_words=args.act_sram_words)
    for note in manifest["notes"]:
        print(f"firebrick build: warning: {note}", file=sys.stderr)
    rows = [[l["node"], l["kind"], l["macs"], l["cycles"], l["utilization"]] for l in manifest["layers"]]
    text = format_table(["layer", "kind", "MACs", "cycles", "utilisation"], rows)
    text += (
        f"\n\n{params.rows}x{params.cols} array at {manifest['clock_mhz']:g} MHz ({args.board}): "
        f"{manifest['cycles_per_frame']:,} cycles/frame, {manifest['frames_per_second']:,.0f} frames/s, "
        f"utilisation {manifest['utilization']:.1%}, on-chip SRAM {manifest['sram_bits'] / 8 / 1024:.1f} KiB\n"
        f"wrote {args.output}/accelerator.v ({manifest['verilog']['bytes']:,} bytes) and {args.output}/manifest.json"
    )
    _emit(args, manifest, text)


def _simulation_images(args: argparse.Namespace, graph):
    """(float images, labels or None) from --image or --dataset/--count."""
    import numpy as np

    from firebrick.quant.pipeline import dataset_for, input_shape

    shape = input_shape(graph)
    if args.image:
        from PIL import Image

        from firebrick.models.datasets import fit_images

        try:
            with Image.open(args.image) as img:
                pixels = np.asarray(img.convert("L" if shape[0] == 1 else "RGB"), np.float32) / 255.0
        except OSError as exc:
            raise FirebrickError(f"cannot read image {args.image}: {exc}") from exc
        pixels = pixels[None, None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)[None]
        return fit_images(pixels, channels=shape[0], size=shape[1]), None
    dataset = dataset_for(graph.meta, shape, args.dataset)
    x, y = dataset.tensors("test")
    return x[: args.count].numpy(), y[: args.count].numpy()


def cmd_simulate(args: argparse.Namespace) -> None:
    from firebrick.sim.simulate import load_build, simulate_build

    _, graph = load_build(args.build_dir)
    images, labels = _simulation_images(args, graph)
    report = simulate_build(args.build_dir, images, labels, check_layers=args.check_layers, simulator=args.simulator, waves=args.waves)
    mismatch = report["first_mismatch"]
    lines = [
        f"{report['frames']} frame(s) on {report['simulator']}: "
        + ("bit-exact with the golden executor" if report["bit_exact"] else "MISMATCH with the golden executor"),
        f"layers compared on the first {args.check_layers} frame(s): {len(report['layers_checked'])}",
        f"cycles/frame {report['cycles']:,} (schedule predicts {report['predicted_cycles']:,}), "
        f"latency {report['latency_us']:.1f} us, {report['fps']:,.0f} frames/s, utilisation {report['utilization']:.1%}",
    ]
    parts = ", ".join(f"{k} {v:.3g}" for k, v in report["energy_breakdown_uj"].items())
    lines.append(f"energy {report['energy_uj_per_frame']:.3g} µJ/frame ({report['energy_table']} table): {parts}; plot {report['energy_plot']}")
    if mismatch:
        lines.append(f"first mismatch: layer '{mismatch['layer']}' channel {mismatch['channel']} pixel "
                     f"(y={mismatch['y']}, x={mismatch['x']}): expected {mismatch['expected']}, got {mismatch['got']}")
    if report["accuracy"] is not None:
        lines.append(f"accuracy over {report['frames']} test images: {report['accuracy']:.4f}")
    _emit(args, report, "\n".join(lines))
    if not report["bit_exact"]:
        raise FirebrickError("the RTL does not match the golden executor (see above)")


def cmd_flow(args: argparse.Namespace) -> None:
    from firebrick.flow import FlowOptions, run_flow
    from firebrick.table import format_table

    options = FlowOptions(
        model=args.model, dataset=args.dataset, output=Path(args.output), train=_train_config(args),
        threads=args.threads, progress=False if args.no_progress else None, frames=args.frames,
    )
    print(f"firebrick flow: {options.model} -> {args.output}/", file=sys.stderr)
    report = run_flow(options)
    text = format_table(
        ["model", "dataset", "params", "MACs", "float acc", "8-bit acc", "array", "cycles/frame", "frames/s", "util"],
        [[report["model"], report["dataset"]["name"], report["params"], report["macs"], report["float_accuracy"],
          report["quant_accuracy"], report["array"], report["cycles_per_frame"], round(report["frames_per_second"]),
          round(report["utilization"], 3)]],
    )
    sim = report["simulation"]
    simulated = (
        f"\nverilator:  {sim['frames']} frame(s) {'bit-exact' if sim['bit_exact'] else 'MISMATCH'} with the golden executor "
        f"on every layer, {sim['cycles']:,} cycles/frame (schedule: {sim['predicted_cycles']:,})" if sim else ""
    )
    _emit(args, report, text + f"\n\ncheckpoint: {report['checkpoint']}\ngraph:      {report['graph']}\n"
                               f"verilog:    {report['build']}/accelerator.v ({report['board']})" + simulated)


def _add_train_options(p: argparse.ArgumentParser) -> None:
    from firebrick.models.training import TrainConfig

    d = TrainConfig()
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default {d.epochs})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"(default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate, cosine schedule (default {d.lr})")
    p.add_argument("--max-shift", type=int, default=d.max_shift, help=f"augmentation: random shift in pixels (default {d.max_shift})")
    p.add_argument("--seed", type=int, default=d.seed, help="seed for init, shuffling, dropout (default 0)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1; parallel sweeps run one per process)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint from `firebrick train`")
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

    p = sub.add_parser("build", help="generate the accelerator's Verilog and manifest for a graph and a board")
    p.add_argument("graph", metavar="MODEL.fbg", help="a graph file from `firebrick quantize`")
    p.add_argument("--board", default="ulx3s", help="target board (default ulx3s)")
    p.add_argument("--rows", type=int, default=8, help="array rows: output channels at once (default 8)")
    p.add_argument("--cols", type=int, default=8, help="array columns: output pixels at once, a power of two (default 8)")
    p.add_argument("--act-bits", type=int, default=8, help="activation width (default 8)")
    p.add_argument("--weight-bits", type=int, default=8, help="weight width (default 8)")
    p.add_argument("--acc-bits", type=int, default=32, help="accumulator width (default 32)")
    p.add_argument("--act-sram-words", type=int, help="cap on activation SRAM words (default: what the model needs)")
    p.add_argument("-o", "--output", default="firebrick-out/build", help="output folder (default firebrick-out/build)")
    p.add_argument("--json", action="store_true", help="print the manifest as one JSON document")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("simulate", help="run frames through a build's Verilog (cocotb + Verilator), bit-exact check, cycles")
    p.add_argument("build_dir", metavar="BUILD_DIR", help="a folder written by `firebrick build`")
    p.add_argument("--image", help="one image file (PNG, JPEG...) instead of dataset images")
    p.add_argument("--dataset", help="test images from this dataset (default: the model's)")
    p.add_argument("--count", type=int, default=8, help="frames from the dataset's test split (default 8)")
    p.add_argument("--check-layers", type=int, default=1, metavar="N", help="compare every layer on the first N frames (default 1)")
    p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    p.add_argument("--waves", action="store_true", help="dump waveforms in the simulator's build folder")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
