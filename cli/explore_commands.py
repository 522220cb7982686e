"""`firebrick explore run | resume | report`: co-design sweeps with a durable store and a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from firebrick.cli.report import emit

def _examples_dir() -> Path:
    from firebrick import explore

    return Path(explore.__file__).parent / "examples"


def spec_path(name: str) -> Path:
    """A spec file, or the name of a shipped example (`squeeze_ratio`, `pct_3x3`, ...)."""
    path = Path(name)
    if path.exists() or name.endswith((".yaml", ".yml")) or "/" in name:
        return path
    example = _examples_dir() / f"{name}.yaml"
    if not example.exists():
        from firebrick.errors import unknown_name

        raise unknown_name("example sweep", name, sorted(p.stem for p in _examples_dir().glob("*.yaml")))
    return example


def _front_text(summary: dict) -> str:
    from firebrick.cli.table import format_table

    axes = summary["axes"]
    front = [p for p in summary["points"] if p["on_front"]]
    figures = list(summary["objectives"]) + ["fits"]
    rows = [[p.get(a) for a in axes] + [p.get(f) for f in figures] for p in sorted(front, key=lambda p: p["energy_uj"])]
    text = format_table(axes + figures, rows) if rows else "(no point finished)"
    failed = f", {len(summary['failed'])} failed (see the report)" if summary["failed"] else ""
    return (f"Pareto front over {', '.join(summary['objectives'])}: {len(front)} of {summary['ok']} points{failed}\n{text}\n"
            f"report: {summary['html']}")


def _run(args: argparse.Namespace, spec) -> None:
    from firebrick.explore.report import write_report
    from firebrick.explore.runner import run_sweep

    run = run_sweep(args.output, spec, workers=args.workers, address=args.address,
                    retry_failed=getattr(args, "retry_failed", False), progress=False if args.no_progress else None)
    print(f"firebrick explore: {run['ran']} point(s) run ({run['ok']} ok, {run['failed']} failed), "
          f"{run['already_done']} already in {run['store']}, {run['seconds']:.0f} s", file=sys.stderr)
    summary = write_report(args.output)
    emit(args, {"run": run, **summary}, _front_text(summary))


def cmd_explore_run(args: argparse.Namespace) -> None:
    from firebrick.explore.spec import load_spec

    from firebrick.outputs import check_output_folder

    spec = load_spec(spec_path(args.spec))
    if args.output is None:
        args.output = str(Path("firebrick-out") / "sweeps" / spec.name)
    check_output_folder(args.output)
    _run(args, spec)


def cmd_explore_resume(args: argparse.Namespace) -> None:
    args.output = args.sweep_dir
    _run(args, None)


def cmd_explore_report(args: argparse.Namespace) -> None:
    from firebrick.explore.report import write_report

    summary = write_report(args.sweep_dir)
    emit(args, summary, _front_text(summary))


def cmd_explore_export(args: argparse.Namespace) -> None:
    from firebrick.explore.verify import build_point
    from firebrick.outputs import check_output_folder

    if args.output is not None:
        check_output_folder(args.output)
    manifest, stored, _, build_dir = build_point(args.sweep_dir, args.point, args.output)
    emit(args, manifest.to_dict(), (
        f"point {args.point} ({', '.join(f'{k}={v}' for k, v in stored.items() if '.' in k)}) built in {build_dir}: "
        f"{manifest.params.rows}x{manifest.params.cols} array for {manifest.board}, {manifest.cycles_per_frame:,} cycles/frame "
        f"(the sweep stored {stored['cycles']:,})\nnext: firebrick simulate {build_dir}   or   firebrick build "
        f"{build_dir / 'model.fbg'} --board {manifest.board} --rows {manifest.params.rows} --cols {manifest.params.cols} "
        + "".join(f"--{flag} {bits} " for flag, bits in (("act-bits", manifest.params.act_bits), ("weight-bits", manifest.params.weight_bits))
                  if bits != 8)
        + f"-o {build_dir} --synth"))


def cmd_explore_verify(args: argparse.Namespace) -> None:
    from firebrick.explore.verify import verify_points

    result = verify_points(args.sweep_dir, ordinals=args.points, frames=args.frames, synth=args.synth,
                           progress=False if args.no_progress else None)
    lines = [f"point {c['ordinal']}: {'bit-exact' if c['bit_exact'] else 'MISMATCH'} on Verilator, RTL cycles "
             f"{c['rtl_cycles']:,} vs model {c['model_cycles']:,} ({'equal' if c['cycles_match'] else 'DIFFERENT'})"
             + (f"; synthesis {c['synthesis']}" if "synthesis" in c else "") for c in result["points"]]
    emit(args, result, "\n".join(lines) + f"\n{result['verified']} point(s) verified: "
         + ("all bit-exact and cycle-exact" if result["all_bit_exact"] and result["all_cycles_match"] else "FAILURES above"))
    if not (result["all_bit_exact"] and result["all_cycles_match"]):
        raise SystemExit(1)


def add_explore_parser(sub) -> None:
    p = sub.add_parser("explore", help="co-design sweeps: run, resume, report")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--workers", type=int, default=1, help="local worker processes (default 1; one per core is the most useful)")
        q.add_argument("--address", help="run on this Ray cluster (e.g. ray://head:10001 or auto) instead of local processes")
        q.add_argument("--no-progress", action="store_true", help="no progress bar")
        q.add_argument("--json", action="store_true", help="print one JSON document")

    q = verbs.add_parser("run", help="run a sweep spec (a YAML file or a shipped example name); resumes if the folder holds it")
    q.add_argument("spec", metavar="SPEC", help="sweep spec YAML, or an example: squeeze_ratio, pct_3x3, joint_array, analytical_arrays")
    q.add_argument("-o", "--output", help="sweep folder (default firebrick-out/sweeps/NAME)")
    common(q)
    q.set_defaults(func=cmd_explore_run)

    q = verbs.add_parser("resume", help="finish an interrupted sweep: runs only the points its store lacks")
    q.add_argument("sweep_dir", metavar="SWEEP_DIR")
    q.add_argument("--retry-failed", action="store_true", help="run the failed points again too")
    common(q)
    q.set_defaults(func=cmd_explore_resume)

    q = verbs.add_parser("verify", help="RTL-simulate (and synthesize) the Pareto front's points: bit-exact, cycles as predicted")
    q.add_argument("sweep_dir", metavar="SWEEP_DIR")
    q.add_argument("--points", type=int, nargs="+", metavar="ORDINAL", help="these points instead of the front")
    q.add_argument("--frames", type=int, default=2, help="test images per point (default 2)")
    q.add_argument("--synth", action="store_true", help="also synthesize each point for its board (minutes each)")
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    q.add_argument("--json", action="store_true", help="print one JSON document")
    q.set_defaults(func=cmd_explore_verify)

    q = verbs.add_parser("export", help="turn a point of a sweep into a build folder (Verilog, manifest, graph) to simulate, "
                                        "synthesize or place and route")
    q.add_argument("sweep_dir", metavar="SWEEP_DIR")
    q.add_argument("--point", type=int, required=True, metavar="ORDINAL",
                   help="the point's number (the report's 'ordinal' column, #N on the plots)")
    q.add_argument("-o", "--output", help="build folder (default SWEEP_DIR/builds/point-ORDINAL)")
    q.add_argument("--json", action="store_true", help="print the manifest as one JSON document")
    q.set_defaults(func=cmd_explore_export)

    q = verbs.add_parser("report", help="Pareto front, plots and a self-contained HTML report of a sweep folder")
    q.add_argument("sweep_dir", metavar="SWEEP_DIR")
    q.add_argument("--json", action="store_true", help="print one JSON document")
    q.set_defaults(func=cmd_explore_report)
