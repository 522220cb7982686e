"""An ImageNet-class network through the whole RTL flow in the default test run: SqueezeNet v1.1 (hardware-ready,
1000 classes) at a reduced 64x64 input on an 8x8 array, loaded at run time, every layer checked on Verilator.

The full 256x256 frames of squeezenet1_1_hw and zynqnet at 16x16 are a benchmark (benchmarks/full_frames.py).
"""

import torch

from firebrick.boards.build import build_accelerator
from firebrick.hw.params import ArrayParams
from firebrick.models.zoo import model_spec
from firebrick.quant.pipeline import random_weight_graph
from firebrick.quant.quantize import QuantConfig
from firebrick.sim.simulate import simulate_build


def test_squeezenet_1_1_at_64x64_is_bit_exact_on_every_layer_and_cycle_exact(tmp_path):
    spec = model_spec("squeezenet1_1_hw").replace(input_size=64)
    graph = random_weight_graph(spec, QuantConfig(), seed=3)
    manifest = build_accelerator(graph, ArrayParams(rows=8, cols=8), tmp_path / "build", board="asic45")
    assert manifest.loading == "run-time" and manifest.scores.count == 1000
    torch.manual_seed(3)
    report = simulate_build(tmp_path / "build", torch.rand(1, 3, 64, 64).numpy(), check_layers=1)
    assert report["load"]["loaded"] and report["load"]["words"] > 100_000  # ~1.2 M weights went through the port
    assert report["bit_exact"], report["first_mismatch"]
    convs = [s for s in manifest.layers if s.kind in ("conv", "add")]
    assert len(report["layers_checked"]) == len(convs) == 26  # every conv (8 fires x 3, the stride-2 convs, ...) read back
    assert report["cycles"] == report["predicted_cycles"] == manifest.cycles_per_frame
