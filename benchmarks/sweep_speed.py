"""Sweep throughput: design points per second on the analytical models alone, and a training-inclusive
sweep's wall time, each with 1 and 2 local workers side by side (the speed-up is the ratio).

    python benchmarks/sweep_speed.py [--epochs 10]

Analytical: the shipped `analytical_arrays` example (144 points: 3 squeeze ratios x
3 boards x 16 array shapes, no training). Training-inclusive: 4 architectures of the
default model's family (SR x base_e) trained for --epochs on digits, 2 array sizes
each (8 points, 4 trainings). Worker start-up (spawned processes import torch) is
included: it is part of what a user waits for.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from firebrick import explore
from firebrick.explore.runner import run_sweep
from firebrick.explore.spec import load_spec, spec_from_dict


def timed(spec, workers: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory(prefix="firebrick-sweep-") as folder:
        began = time.perf_counter()
        run = run_sweep(Path(folder), spec, workers=workers, progress=False)
        return time.perf_counter() - began, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    analytical = load_spec(Path(explore.__file__).parent / "examples" / "analytical_arrays.yaml")
    training = spec_from_dict({
        "name": "bench_training", "dataset": "digits",
        "model": {"base": "tiny32", "fixed": {"hardware_ready": True}, "axes": {"sr": [0.25, 0.5], "base_e": [16, 32]}},
        "training": {"epochs": args.epochs, "seeds": [0]},
        "hardware": {"fixed": {"board": "ulx3s"}, "axes": {"rows": [8, 16], "cols": [8]}},
    }, "benchmark")
    for name, spec in (("analytical (no training)", analytical), (f"training, {args.epochs} epochs", training)):
        seconds = {}
        for workers in (1, 2):
            seconds[workers], run = timed(spec, workers)
            assert run["failed"] == 0, run
            print(f"{name:<26} {workers} worker(s): {run['ran']:>4} points in {seconds[workers]:6.1f} s "
                  f"= {run['ran'] / seconds[workers]:6.2f} points/s", flush=True)
        print(f"{name:<26} speed-up 1 -> 2 workers: {seconds[1] / seconds[2]:.2f}x", flush=True)


if __name__ == "__main__":
    main()
