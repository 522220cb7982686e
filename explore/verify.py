"""Check chosen sweep points (the Pareto front by default) against the real thing.

For each point: rebuild its quantized graph (the stored checkpoint, or the same
seeded random weights), generate the accelerator, run test frames through the
Verilog on Verilator bit-exact against the golden executor, and hold the RTL's
cycle counter to the analytical figure the sweep stored; with `synth`, also
synthesize for the point's board and record real resources next to the
estimate. Results go to DIR/verify/verify.json (and a build folder per point).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from firebrick.atomic import write_json_atomic
from firebrick.explore.evaluate import point_graph, point_hardware
from firebrick.explore.report import summarize
from firebrick.explore.runner import open_sweep
from firebrick.boards.build import build_accelerator
from firebrick.boards.manifest import load_build


def build_point(out_dir: str | Path, ordinal: int, output: str | Path | None = None):
    """Turn a stored point into a build folder (Verilog, manifest, graph): its checkpoint's weights or the sweep's
    seeded random ones, its array and its board. Returns (manifest, the point's stored figures, the dataset or None,
    the build folder)."""
    from firebrick.errors import FirebrickError

    out_dir = Path(out_dir)
    summary = summarize(out_dir)
    stored = next((p for p in summary["points"] if p["ordinal"] == ordinal), None)
    if stored is None:
        known = sorted(p["ordinal"] for p in summary["points"])
        raise FirebrickError(f"{out_dir} has no evaluated point {ordinal}; its points are {', '.join(map(str, known[:30]))}"
                             f"{' ...' if len(known) > 30 else ''} (the front: {', '.join(map(str, summary['front']))})")
    build_dir = Path(output) if output is not None else out_dir / "builds" / f"point-{ordinal}"
    manifest, _, dataset = _build_stored(out_dir, stored, build_dir)
    return manifest, stored, dataset, build_dir


def _build_stored(out_dir: Path, stored: dict[str, Any], build_dir: Path):
    """(manifest, graph, dataset or None) of one summarized point built into `build_dir`."""
    store, spec = open_sweep(out_dir)
    store.close()
    point = {k: v for k, v in stored.items() if "." in k}
    torch.set_num_threads(1)
    graph, _, dataset = point_graph(spec, point, str(out_dir))
    params, board = point_hardware(spec, point)
    return build_accelerator(graph, params, build_dir, board=board), graph, dataset


def verify_points(out_dir: str | Path, *, ordinals: list[int] | None = None, frames: int = 2, synth: bool = False,
                  progress: bool | None = None) -> dict[str, Any]:
    from firebrick.boards.synthesis import synthesize
    from firebrick.sim.simulate import simulate_build

    out_dir = Path(out_dir)
    store, spec = open_sweep(out_dir)
    store.close()
    summary = summarize(out_dir)
    wanted = set(summary["front"] if ordinals is None else ordinals)
    points = [p for p in summary["points"] if p["ordinal"] in wanted]
    checks = []
    for stored in tqdm(points, desc="verify", unit="point", disable=(not progress) if progress is not None else None):
        point = {k: v for k, v in stored.items() if "." in k}
        build_dir = out_dir / "verify" / f"point-{stored['ordinal']}"
        _, graph, dataset = _build_stored(out_dir, stored, build_dir)
        board = point_hardware(spec, point)[1]
        if dataset is not None:
            x, y = dataset.tensors("test")
            images, labels = x[:frames].numpy(), y[:frames].numpy()
        else:
            shape = graph.op(graph.input).shape
            images, labels = np.random.default_rng(0).random((frames, *shape)).astype(np.float32), None
        sim = simulate_build(build_dir, images, labels, check_layers=1)
        check = {
            "ordinal": stored["ordinal"], "point": point, "build": str(build_dir), "bit_exact": sim["bit_exact"],
            "first_mismatch": sim["first_mismatch"], "rtl_cycles": sim["cycles"], "model_cycles": stored["cycles"],
            "cycles_match": sim["cycles"] == stored["cycles"], "rtl_energy_uj": sim["energy_uj_per_frame"],
            "model_energy_uj": stored["energy_uj"],
        }
        if synth and board.kind == "fpga":
            report = synthesize(load_build(build_dir), board)
            check["synthesis"] = {k: v["used"] for k, v in report["resources"].items()}
            check["fits_after_synthesis"] = report["fits"]
        checks.append(check)
    result = {"verified": len(checks), "all_bit_exact": all(c["bit_exact"] for c in checks),
              "all_cycles_match": all(c["cycles_match"] for c in checks), "points": checks}
    write_json_atomic(out_dir / "verify" / "verify.json", result)
    return result
