"""Commands about models: the zoo, analytic cost, training, and the end-to-end flow."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from firebrick.cli.report import emit


def resolve_spec(name: str, input_size: int | None):
    """A zoo name or a checkpoint path -> (its network spec, at `input_size` if given; whether it came from a checkpoint)."""
    from firebrick.models.checkpoint import load_checkpoint
    from firebrick.models.zoo import ZOO, model_spec

    from_checkpoint = name not in ZOO and (Path(name).suffix == ".pt" or Path(name).exists())
    spec = load_checkpoint(name).spec if from_checkpoint else model_spec(name)
    return (spec if input_size is None else spec.replace(input_size=input_size)), from_checkpoint


def _resolve_model(name: str, input_size: int | None):
    """A zoo name or a checkpoint path -> (torch model, display name)."""
    from firebrick.models.firenet import FireNet

    spec, _ = resolve_spec(name, input_size)
    return FireNet(spec), spec.name


def cmd_models(args: argparse.Namespace) -> None:
    from firebrick.models.cost import model_cost
    from firebrick.models.firenet import FireNet
    from firebrick.models.zoo import DEFAULT_MODEL, ZOO
    from firebrick.cli.table import format_table

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
    emit(args, {"default": DEFAULT_MODEL, "models": rows}, text + f"\n\ndefault: {DEFAULT_MODEL}")


def cmd_cost(args: argparse.Namespace) -> None:
    from firebrick.models.cost import model_cost
    from firebrick.cli.table import format_table

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
    emit(args, cost.to_dict(), table + "\n\n" + totals)


def _train_config(args: argparse.Namespace, workers: int | None = None):
    from firebrick.models.train_config import TrainConfig

    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, max_shift=args.max_shift,
                       workers=workers if workers is not None else 1 if args.workers is None else args.workers,
                       warmup_epochs=args.warmup_epochs)


def _torchrun_workers(args: argparse.Namespace):
    """This process's group when torchrun started it (it joins the others first), else None."""
    from firebrick.errors import FirebrickError
    from firebrick.models.distributed import join_launcher_group, launched_by_torchrun

    if not launched_by_torchrun():
        return None
    group = join_launcher_group()
    if args.workers not in (None, group.size):
        raise FirebrickError(f"--workers {args.workers}, but torchrun started {group.size} workers; "
                             "leave --workers out under torchrun (its --nnodes x --nproc-per-node decide)")
    return group


def cmd_train(args: argparse.Namespace) -> None:
    from firebrick.outputs import check_output_file
    from firebrick.models.zoo import resolve_dataset, training_spec
    from firebrick.models.cost import model_cost
    from firebrick.models.training import train
    from firebrick.cli.table import format_table

    if args.output is not None:
        check_output_file(args.output)  # before the dataset is read
    group = _torchrun_workers(args)
    try:
        dataset_name = resolve_dataset(args.model, args.dataset)
        spec, dataset = training_spec(args.model, dataset_name, input_size=args.input, fit=args.fit, seed=args.split_seed)
        output = check_output_file(args.output or Path("firebrick-out") / f"{spec.name}-{Path(dataset_name).name}.pt")
        checkpoint = train(
            spec, dataset, _train_config(args, group.size if group else None), output,
            overwrite=args.overwrite, progress=False if args.no_progress else None, threads=args.threads,
        )
    finally:
        if group is not None:
            import torch.distributed

            torch.distributed.destroy_process_group()
    if group is not None and not group.leader:
        return  # rank 0 reports
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
        "parallel": meta.get("parallel"),
        "accuracy": meta["accuracy"],
        "history": meta["history"],
    }
    acc = meta["accuracy"]
    text = format_table(
        ["model", "dataset", "params", "MACs", "epochs", "seconds", "train acc", "val acc", "test acc"],
        [[spec.name, dataset_name, cost.params, cost.macs, meta["epochs_done"], round(meta["train_seconds"], 1),
          f"{acc['train']:.2%}", f"{acc['val']:.2%}", f"{acc['test']:.2%}"]],
    )
    parallel = meta.get("parallel")
    if parallel and parallel["workers"] > 1:
        text += (f"\n\n{parallel['workers']} workers ({parallel['backend']}) x batch {parallel['per_worker_batch']} = global batch "
                 f"{parallel['global_batch']}; peak rate {parallel['peak_lr']:g} = {parallel['workers']} x {parallel['base_lr']:g}, "
                 f"warm-up {parallel['warmup_epochs']} epoch(s)")
    emit(args, document, text + f"\n\ncheckpoint: {output}")


def cmd_flow(args: argparse.Namespace) -> None:
    from firebrick.cli.flow import FlowOptions, run_flow
    from firebrick.cli.table import format_table

    from firebrick.outputs import check_output_folder

    options = FlowOptions(
        model=args.model, dataset=args.dataset, output=check_output_folder(args.output), train=_train_config(args),
        threads=args.threads, progress=False if args.no_progress else None, frames=args.frames,
    )
    from firebrick.models.zoo import model_spec

    model_spec(options.model)  # an unknown name is refused before anything starts
    print(f"firebrick flow: {options.model} -> {args.output}/", file=sys.stderr)
    report = run_flow(options)
    text = format_table(
        ["model", "dataset", "params", "MACs", "float acc", "8-bit acc", "array", "cycles/frame", "frames/s", "util"],
        [[report["model"], report["dataset"]["name"], report["params"], report["macs"], f"{report['float_accuracy']:.2%}",
          f"{report['quant_accuracy']:.2%}", report["array"], report["cycles_per_frame"], round(report["frames_per_second"]),
          f"{report['utilization']:.1%}"]],
    )
    sim = report["simulation"]
    simulated = (
        f"\nverilator:  {sim['frames']} frame(s) {'bit-exact' if sim['bit_exact'] else 'MISMATCH'} with the golden executor "
        f"on every layer, {sim['cycles']:,} cycles/frame (schedule: {sim['predicted_cycles']:,}), "
        f"{sim['fps']:,.0f} frames/s at {report['clock_mhz']:g} MHz\n"
        f"energy:     {sim['energy_uj_per_frame']:.3g} µJ/frame ({sim['energy_table']} table: "
        + ", ".join(f"{k} {v:.2g}" for k, v in sim["energy_breakdown_uj"].items()) + f"); plot {sim['energy_plot']}"
        if sim else ""
    )
    emit(args, report, text + f"\n\ncheckpoint: {report['checkpoint']}\ngraph:      {report['graph']}\n"
                               f"verilog:    {report['build']}/accelerator.v ({report['board']})" + simulated)


