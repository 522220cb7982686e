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
    python benchmarks/parallel_training.py --steps    # what one training step costs, alone and under DDP
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from firebrick.models.distributed import current_group, run_workers
from firebrick.models.firenet import FireNet
from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import DEFAULT_MODEL, model_spec, training_spec

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


def _step_loop(batch: int, steps: int, ddp: bool, sync_buffers: bool, label: str) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = FireNet(model_spec(DEFAULT_MODEL))
    forward = DistributedDataParallel(model, forward_sync_buffers=sync_buffers) if ddp else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.rand(batch, 1, 32, 32), torch.randint(0, 10, (batch,))
    for step in range(steps + 5):
        if step == 5:
            began = time.perf_counter()
        loss = F.cross_entropy(forward(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if current_group().leader:
        print(f"{label:<44} {(time.perf_counter() - began) / steps * 1e3:6.2f} ms/step", flush=True)


def step_costs(steps: int = 200) -> None:
    """One step of the default model, one thread per process: alone, and as one of two DDP workers."""
    print(f"{DEFAULT_MODEL}, one training step, one torch thread per process, mean of {steps} steps")
    _step_loop(64, steps, False, False, "1 process, batch 64")
    _step_loop(32, steps, False, False, "1 process, batch 32")
    run_workers(2, _step_loop, (32, steps, True, False, "2 DDP workers, batch 32 each"))
    run_workers(2, _step_loop, (32, steps, True, True, "2 DDP workers, batch 32 each, buffers synced"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per configuration (default 3)")
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--models", nargs="+", default=[f"{DEFAULT_MODEL}:digits", "squeezenet_tiny28_hw:mnist"],
                        metavar="MODEL:DATASET")
    parser.add_argument("--steps", action="store_true", help="only the cost of one step, alone and under DDP")
    args = parser.parse_args()
    if args.steps:
        step_costs()
        return
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
