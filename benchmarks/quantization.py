"""Quantization accuracy and golden-executor speed, side by side in one run.

For the default digits model and an MNIST model: float vs 8-bit dynamic fixed
point vs 4-bit codebook (without and with 5 epochs of fine-tuning) vs
PyTorch's own post-training int8 quantization (torch.ao, FX mode, x86
backend) on the same checkpoint, calibration images and test split. Then the
golden executor's throughput against the float torch forward.

Targets (issue 3): <= 0.5 pp drop for 8-bit DFP, <= 1 pp for the 4-bit codebook.

    python benchmarks/quantization.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch

from firebrick.models.zoo import training_spec
from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.training import TrainConfig, evaluate, train
from firebrick.quant.executor import predict
from firebrick.quant.pipeline import DEFAULT_CALIBRATION_IMAGES, quantize_checkpoint
from firebrick.quant.quantize import QuantConfig

MODELS = [("squeezenet_tiny32_hw", "digits"), ("squeezenet_tiny28_hw", "mnist")]


def torch_ao_int8(model: torch.nn.Module, calibration: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor) -> float:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(model.eval(), get_default_qconfig_mapping("x86"), (calibration[:1],))
        with torch.no_grad():
            prepared(calibration)
        quantized = convert_fx(prepared)
        return evaluate(quantized, test_x, test_y)


def throughput(fn, images: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return images / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("firebrick-out/bench"), help="checkpoints are trained once here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'model':<22} {'dataset':<7} {'float':>7} {'DFP8':>7} {'cb4':>7} {'cb4+ft5':>8} {'torch.ao int8':>13}   (test accuracy %)")
    speed_rows = []
    for model_name, dataset_name in MODELS:
        spec, dataset = training_spec(model_name, dataset_name)
        path = args.cache / f"{model_name}-{dataset_name}.pt"
        train(spec, dataset, TrainConfig(), path, progress=False)
        _, dfp = quantize_checkpoint(path, QuantConfig())
        _, cb4 = quantize_checkpoint(path, QuantConfig(codebook_bits=4))
        graph_ft, cb4ft = quantize_checkpoint(path, QuantConfig(codebook_bits=4), finetune_epochs=5, progress=False)
        model = load_checkpoint(path).build_model()
        test_x, test_y = dataset.tensors("test")
        calibration = dataset.tensors("train")[0][:DEFAULT_CALIBRATION_IMAGES]
        ao = torch_ao_int8(model, calibration, test_x, test_y)
        pct = lambda a: f"{100 * a:.2f}"  # noqa: E731
        print(f"{model_name:<22} {dataset_name:<7} {pct(dfp.float_accuracy):>7} {pct(dfp.quant_accuracy):>7} "
              f"{pct(cb4.quant_accuracy):>7} {pct(cb4ft.quant_accuracy):>8} {pct(ao):>13}", flush=True)
        graph, _ = quantize_checkpoint(path, QuantConfig())
        x = test_x.numpy()
        with torch.no_grad():
            float_ips = throughput(lambda: model(test_x), len(x))
        golden_ips = throughput(lambda: predict(graph, x), len(x))
        speed_rows.append((model_name, len(x), float_ips, golden_ips))
    print("\nthroughput, 1 thread, whole test split per call (best of 3):")
    print(f"{'model':<22} {'images':>6} {'torch float img/s':>18} {'golden int img/s':>17} {'ratio':>6}")
    for name, n, f_ips, g_ips in speed_rows:
        print(f"{name:<22} {n:>6} {f_ips:>18.0f} {g_ips:>17.0f} {g_ips / f_ips:>6.2f}")


if __name__ == "__main__":
    main()
