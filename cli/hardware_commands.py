"""Commands about quantized graphs and hardware: quantize, evaluate, build, simulate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from firebrick.errors import FirebrickError
from firebrick.cli.report import emit


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
    from firebrick.cli.table import format_table

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
        f"accuracy on {report['dataset']['name']} test split: float {report['float_accuracy']:.2%}, "
        f"quantized {report['quant_accuracy']:.2%} (drop {report['accuracy_drop_pp']:.2f} pp)\ngraph: {output}"
    )


def cmd_quantize(args: argparse.Namespace) -> None:
    from firebrick.outputs import check_output_file
    from firebrick.quant.fbg import save_graph
    from firebrick.quant.pipeline import MODEL_FILE_KINDS, quantize_checkpoint, quantize_model_file

    output = check_output_file(args.output or Path(args.checkpoint).with_suffix(".fbg"))
    options = dict(calibration_images=args.calibration, finetune_epochs=args.finetune, progress=False if args.no_progress else None)
    kind = MODEL_FILE_KINDS.get(Path(args.checkpoint).suffix.lower())
    if kind is not None:  # the user's own model: nothing records its dataset
        if args.dataset is None:
            raise FirebrickError(f"{args.checkpoint} is your own model ({kind}): name the data to calibrate and evaluate it on with "
                                 "--dataset (digits, mnist or an image folder with one sub-folder per class)")
        if not Path(args.checkpoint).is_file():
            raise FirebrickError(f"{kind} model {args.checkpoint} does not exist")
        graph, report = quantize_model_file(args.checkpoint, _quant_config(args), dataset_name=args.dataset, **options)
    else:
        graph, report = quantize_checkpoint(args.checkpoint, _quant_config(args), dataset_name=args.dataset, **options)
    save_graph(graph, output)
    document = {"graph": str(output), **report.to_dict()}
    emit(args, document, _quant_text(document, str(output)))


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
    emit(args, document, f"{args.graph}: {accuracy:.2%} top-1 on {images} {args.split} images of {dataset.name} "
                          f"(golden integer executor, {images / seconds:.0f} images/s)")


#: what a build's clock is, in words (BuildManifest.clock_basis)
CLOCK_BASIS_WORDS = {
    "oscillator": "the board's oscillator",
    "measured": "a PLL clock the board file's default design met in place-and-route",
    "assumed": "an assumption of the board file, not timed",
    "place-and-route": "met in this build's place-and-route",
    "given": "given on the command line, not timed",
}


def _estimate_graph(args: argparse.Namespace):
    """The graph to price: a graph file as it is; a zoo name or a checkpoint's network with seeded random weights."""
    from firebrick.cli.model_commands import resolve_spec
    from firebrick.quant.fbg import load_graph
    from firebrick.quant.pipeline import MODEL_FILE_KINDS, calibrated_on_random_images, lower_model_file, random_weight_graph
    from firebrick.quant.passes import canonicalize
    from firebrick.quant.quantize import QuantConfig

    config = QuantConfig(weight_bits=args.bits, activation_bits=args.bits, codebook_bits=args.codebook_bits)
    if args.model.endswith(".fbg"):
        if args.input is not None or args.codebook_bits is not None:
            raise FirebrickError("--input and --codebook-bits apply to a zoo name or a checkpoint; a graph file is priced as it is")
        return load_graph(args.model), "graph file"
    if Path(args.model).suffix.lower() in MODEL_FILE_KINDS:  # a user's ONNX / torch.export model: its own weights
        if args.input is not None:
            raise FirebrickError(f"--input does not apply to {args.model}: its input size is the one it was exported with")
        if not Path(args.model).is_file():
            raise FirebrickError(f"{MODEL_FILE_KINDS[Path(args.model).suffix.lower()]} model {args.model} does not exist")
        return calibrated_on_random_images(canonicalize(lower_model_file(args.model)), config), "model file, calibrated on random images"
    spec, from_checkpoint = resolve_spec(args.model, args.input)
    what = "checkpoint's network, seeded random weights" if from_checkpoint else "seeded random weights"
    return random_weight_graph(spec, config), what


def cmd_load_file(args: argparse.Namespace) -> None:
    from firebrick.boards.build import load_into_build
    from firebrick.outputs import check_output_folder
    from firebrick.quant.fbg import load_graph

    check_output_folder(args.output)
    manifest = load_into_build(load_graph(args.graph), args.build_dir, args.output)
    emit(args, manifest.to_dict(),
         f"{manifest.model} fits the accelerator of {args.build_dir} ({manifest.envelope.describe()}): wrote {args.output} "
         f"(its Verilog unchanged, {manifest.load_file}: {manifest.cycles_per_frame:,} cycles/frame, "
         f"{manifest.frames_per_second:,.0f} frames/s at {manifest.clock_mhz:g} MHz); next: firebrick simulate {args.output}")


def cmd_estimate(args: argparse.Namespace) -> None:
    import dataclasses

    from firebrick.boards.board import load_board
    from firebrick.boards.fit import describe_placement
    from firebrick.cli.table import format_table
    from firebrick.hw.params import ArrayParams
    from firebrick.sim.estimate import estimate_design

    board = load_board(args.board)
    if args.clock is not None:
        if not args.clock > 0:
            raise FirebrickError(f"--clock must be a positive frequency in MHz, not {args.clock}")
        board = dataclasses.replace(board, clock_mhz=args.clock)
    params = ArrayParams(rows=args.rows, cols=args.cols, act_bits=args.bits, weight_bits=args.bits)
    graph, weights = _estimate_graph(args)
    figures = estimate_design(graph, params, board)
    document = {"model": graph.name, "weights": weights, **figures}
    if args.clock is not None:
        document["clock_basis"] = "given"
    live = figures["activation_live"]
    rows = [[l["node"], l["kind"], l["macs"], l["cycles"], f"{l['utilization']:.1%}", live["per_node"].get(l["node"], "")]
            for l in figures["layers"]]
    number = lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"  # noqa: E731 - no exponents for people
    breakdown = ", ".join(f"{k} {number(v)}" for k, v in figures["energy_breakdown_uj"].items())
    memories = ", ".join(f"{m['name']} {m['bits'] / 8 / 1024:,.1f}" for m in figures["memories"])
    estimate = figures["fit_estimate"]
    fit = ("fits" if figures["fits"] else "DOES NOT FIT: " + "; ".join(figures["shortfalls"])) if estimate else \
        "no fixed budget (an ASIC technology)"
    if estimate and figures["fits"] and estimate["in_other_ram"]:
        fit += (f" ({estimate['block_ram_blocks']} of {estimate['block_ram_available']} block RAMs; {describe_placement(estimate['in_other_ram'])} "
                f"in {estimate['other_ram_blocks']} of {estimate['other_ram_available']} {estimate['other_ram_primitive']})")
    text = format_table(["layer", "kind", "MACs", "cycles", "utilisation", "live act. words"], rows) + (
        f"\n\n{graph.name} ({weights}) on {board.name}, {params.rows}x{params.cols} array at {board.clock_mhz:g} MHz "
        f"(clock: {CLOCK_BASIS_WORDS[document['clock_basis']]})\n"
        f"cycles/frame {figures['cycles']:,}, latency {figures['latency_us']:,.1f} µs, {figures['fps']:,.0f} frames/s, "
        f"utilisation {figures['utilization']:.1%}\n"
        f"energy {number(figures['energy_uj'])} µJ/frame; in µJ: {breakdown} ({board.name} energy table: {figures['energy_source']})\n"
        f"on-chip memory {figures['onchip_kib']:,.1f} KiB ({memories} KiB); {fit}\n"
        f"activations: {live['planned_words']:,} words planned ({live['banks']} banks of {live['bank_depth']:,}); peak live set "
        f"{live['peak_words']:,} words at {live['peak_at']} ({', '.join(live['peak_tensors'])})\n"
        f"every figure: {figures['basis']}"
    )
    emit(args, document, text)


def cmd_build(args: argparse.Namespace) -> None:
    from firebrick.boards.build import build_accelerator
    from firebrick.hw.params import ArrayParams
    from firebrick.outputs import check_output_folder
    from firebrick.quant.fbg import load_graph
    from firebrick.cli.table import format_table

    implementing = args.synth or args.place_route or args.bitstream
    if implementing or args.clock is not None:
        from firebrick.cli.board_commands import check_implementable

        check_implementable(args)
    check_output_folder(args.output)
    graph = load_graph(args.graph)
    params = ArrayParams(rows=args.rows, cols=args.cols, act_bits=args.act_bits, weight_bits=args.weight_bits, acc_bits=args.acc_bits)
    # a bitstream's top (accelerator + UART) runs standalone: its weights are baked, and so is the Verilog synthesised
    bake = args.bake_weights or args.place_route or args.bitstream
    if args.also_holds and bake:
        raise FirebrickError("--also-holds sizes the memories loaded at run time; a baked design (--bake-weights, "
                             "--place-route, --bitstream) holds its own model only")
    if args.interface == "axi" and bake:
        raise FirebrickError("the AXI top is loaded at run time through s_axis_load; it has no baked form (--bake-weights), "
                             "and a bitstream (--place-route, --bitstream) has the UART top: build those without "
                             "--interface axi")
    others = tuple(load_graph(path) for path in args.also_holds)
    manifest = build_accelerator(graph, params, args.output, board=args.board, act_sram_words=args.act_sram_words,
                                 bake_weights=bake, also_holds=others, interface=args.interface)
    for note in manifest.notes:
        print(f"firebrick build: warning: {note}", file=sys.stderr)
    rows = [[l.node, l.kind, l.macs, l.cycles, f"{l.utilization(params):.1%}"] for l in manifest.layers]
    text = format_table(["layer", "kind", "MACs", "cycles", "utilisation"], rows)
    text += (
        f"\n\n{params.rows}x{params.cols} array at {manifest.clock_mhz:g} MHz ({args.board}; clock: {CLOCK_BASIS_WORDS[manifest.clock_basis]}): "
        f"{manifest.cycles_per_frame:,} cycles/frame, {manifest.frames_per_second:,.0f} frames/s, "
        f"utilisation {manifest.utilization:.1%}, on-chip SRAM {manifest.sram_bits / 8 / 1024:.1f} KiB\n"
        f"wrote {args.output}/accelerator.v ({manifest.verilog.bytes:,} bytes"
        + (", weights baked in)" if manifest.load_file is None else
           f", no memory contents), {args.output}/{manifest.load_file} (the load stream, {manifest.envelope.describe()})")
        + "".join(f", {args.output}/{name}" for name in manifest.register_map)
        + f" and {args.output}/manifest.json"
        + ("\ninterface: AXI4-Stream s_axis_load, s_axis_image, m_axis_scores and AXI4-Lite s_axil (register map in "
           f"{args.output}/{manifest.register_map[0]})" if manifest.interface == "axi" else "")
    )
    if bake and not args.bake_weights:
        text += "\nweights baked in: the bitstream's top (accelerator + UART) runs standalone on the board"
    if implementing:
        from firebrick.cli.board_commands import implement, implementation_text

        manifest = manifest.with_implementation(implement(args))
        manifest.write(args.output)  # the manifest records what synthesis and place-and-route measured
        text += "\n" + implementation_text(manifest.implementation)
        if manifest.clock_basis == "place-and-route":
            text += (f"\nfrom now on this build's figures are at {manifest.clock_mhz:g} MHz: {manifest.frames_per_second:,.0f} "
                     "frames/s (`firebrick simulate` prices energy at it)")
    emit(args, manifest.to_dict(), text)


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
    from firebrick.outputs import check_output_folder
    from firebrick.sim.simulate import load_build, simulate_build

    if args.count < 1 or args.check_layers < 0:
        raise FirebrickError(f"--count must be at least 1 and --check-layers at least 0, not {args.count} and {args.check_layers}")
    graph = load_build(args.build_dir).graph
    check_output_folder(args.build_dir, "BUILD_DIR")  # the simulator's build and energy.png go there
    images, labels = _simulation_images(args, graph)
    report = simulate_build(args.build_dir, images, labels, check_layers=args.check_layers, simulator=args.simulator, waves=args.waves,
                            energy_board=args.energy_board)
    mismatch = report["first_mismatch"]
    lines = [
        f"{report['frames']} frame(s) on {report['simulator']}: "
        + ("bit-exact with the golden executor" if report["bit_exact"] else "MISMATCH with the golden executor"),
        (f"layers compared on the first {args.check_layers} frame(s): {len(report['layers_checked'])}"
         if report["interface"] == "native" else
         "scores compared through the AXI ports; no layer read back (the AXI top has no debug port: simulate a "
         "native build of the model for that)"),
        f"cycles/frame {report['cycles']:,} (schedule predicts {report['predicted_cycles']:,}), "
        f"latency {report['latency_us']:,.1f} µs, {report['fps']:,.0f} frames/s at {report['clock_mhz']:g} MHz "
        f"({CLOCK_BASIS_WORDS[report['clock_basis']]}), utilisation {report['utilization']:.1%}",
    ]
    parts = ", ".join(f"{k} {v:.3g}" for k, v in report["energy_breakdown_uj"].items())
    lines.append(f"energy {report['energy_uj_per_frame']:.3g} µJ/frame ({report['energy_table']} table); in µJ: {parts}; plot {report['energy_plot']}")
    if mismatch:
        lines.append(f"first mismatch: layer '{mismatch['layer']}' channel {mismatch['channel']} pixel "
                     f"(y={mismatch['y']}, x={mismatch['x']}): expected {mismatch['expected']}, got {mismatch['got']}")
    if report["accuracy"] is not None:
        lines.append(f"accuracy over {report['frames']} test images: {report['accuracy']:.2%}")
    emit(args, report, "\n".join(lines))
    if not report["bit_exact"]:
        raise FirebrickError("the RTL does not match the golden executor (see above)")


