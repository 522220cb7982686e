"""Train the default model on digits from scratch: wall time and test accuracy.

Target (issue 2): >= 98 % test accuracy in under 3 minutes on 2 cores.
Runs several seeds (the spread matters more than one lucky number) and, on
seed 0, 1 vs 2 torch threads side by side.

    python benchmarks/train_default.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from firebrick.models.zoo import training_spec
from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import DEFAULT_MODEL


def run(seed: int, threads: int, folder: Path) -> tuple[float, float]:
    began = time.perf_counter()
    spec, dataset = training_spec(DEFAULT_MODEL, "digits")
    checkpoint = train(spec, dataset, TrainConfig(seed=seed), folder / f"s{seed}-t{threads}.pt", progress=False, threads=threads)
    return time.perf_counter() - began, checkpoint.metadata["accuracy"]["test"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(f"{DEFAULT_MODEL} on digits (32x32), {TrainConfig().epochs} epochs, wall time incl. data loading")
    print(f"{'seed':>4} {'threads':>7} {'seconds':>8} {'test acc':>8}")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            seconds, acc = run(seed, 1, Path(tmp))
            times.setdefault(1, seconds)
            print(f"{seed:>4} {1:>7} {seconds:>8.1f} {acc * 100:>7.2f}%", flush=True)
        seconds, acc = run(0, 2, Path(tmp))
        print(f"{0:>4} {2:>7} {seconds:>8.1f} {acc * 100:>7.2f}%")
    print(f"2 threads / 1 thread wall time on seed 0: {seconds / times[1]:.2f}")


if __name__ == "__main__":
    main()
