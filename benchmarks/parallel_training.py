"""Data-parallel training (issue 16): speed-up of 2 workers x 1 thread against 1 worker x 1 and x 2 threads, and
accuracy with 1 and 2 workers at the same global batch over several seeds, side by side in one run.

Configurations (40 epochs each, the zoo's training defaults otherwise):
  1w x 1t    one worker, one torch thread, batch 64, lr 0.1
  1w x 2t    one worker, two torch threads, batch 64, lr 0.1
  2w x 1t    two workers of one thread, 32 each: the same global batch 64, peak rate 2 x 0.05 = 0.1, 2 warm-up epochs
  2w x 1t/128  two workers of one thread, 64 each (FireCaffe: the global batch grows with the workers): 128, peak 0.2

Wall time includes starting the workers and loading data; "epoch s" is the time spent in epochs (the
checkpoint's train_seconds). The configurations run round-robin per seed, so machine noise hits them alike.

    python benchmarks/parallel_training.py [--seeds 3] [--epochs 40] [--models squeezenet_tiny32_hw:digits ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import DEFAULT_MODEL, training_spec

CONFIGS = {  # name: (workers, threads, per-worker batch, lr)
    "1w x 1t": (1, 1, 64, 0.1),
    "1w x 2t": (1, 2, 64, 0.1),
    "2w x 1t": (2, 1, 32, 0.05),
    "2w x 1t/128": (2, 1, 64, 0.1),
}


def run(model: str, dataset_name: str, name: str, seed: int, epochs: int, folder: Path) -> dict:
    workers, threads, batch, lr = CONFIGS[name]
    spec, dataset = training_spec(model, dataset_name)
    config = TrainConfig(epochs=epochs, batch_size=batch, lr=lr, workers=workers, seed=seed)
    began = time.perf_counter()
    checkpoint = train(spec, dataset, config, folder / f"{model}-{name.replace(' ', '')}-{seed}.pt".replace("/", "_"),
                       progress=False, threads=threads)
    return {"wall": time.perf_counter() - began, "epochs": checkpoint.metadata["train_seconds"],
            "test": checkpoint.metadata["accuracy"]["test"], "global": config.global_batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per configuration (default 3)")
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--models", nargs="+", default=[f"{DEFAULT_MODEL}:digits", "squeezenet_tiny28_hw:mnist"],
                        metavar="MODEL:DATASET")
    args = parser.parse_args()
    started = time.perf_counter()
    for entry in args.models:
        model, dataset_name = entry.split(":")
        results: dict[str, list[dict]] = {name: [] for name in CONFIGS}
        with tempfile.TemporaryDirectory() as tmp:
            for seed in range(args.seeds):
                for name in CONFIGS:
                    result = run(model, dataset_name, name, seed, args.epochs, Path(tmp))
                    results[name].append(result)
                    print(f"[{time.perf_counter() - started:6.0f} s] {model} {name:<11} seed {seed}: {result['wall']:6.1f} s wall, "
                          f"test {result['test'] * 100:.2f} %", flush=True)
        base = statistics.median(r["epochs"] for r in results["1w x 1t"])
        base_wall = statistics.median(r["wall"] for r in results["1w x 1t"])
        print(f"\n{model} on {dataset_name}, {args.epochs} epochs, {args.seeds} seed(s), medians")
        print(f"{'config':<12} {'global':>6} {'wall s':>7} {'epoch s':>8} {'speed-up':>8} {'(wall)':>7}  test accuracy % per seed")
        for name, runs in results.items():
            wall = statistics.median(r["wall"] for r in runs)
            epochs = statistics.median(r["epochs"] for r in runs)
            accuracies = " / ".join(f"{r['test'] * 100:.2f}" for r in runs)
            print(f"{name:<12} {runs[0]['global']:>6} {wall:>7.1f} {epochs:>8.1f} {base / epochs:>7.2f}x {base_wall / wall:>6.2f}x  {accuracies}")
        print(flush=True)


if __name__ == "__main__":
    main()
