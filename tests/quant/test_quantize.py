"""Dynamic fixed point and codebooks on real graphs: formats, integers, errors; executor == fake quant."""

import dataclasses

import numpy as np
import pytest
import torch

from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import load_dataset
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import model_spec
from firebrick.quant.calibrate import calibrate
from firebrick.quant.executor import ExecutionStats, quantize_images, run_int
from firebrick.quant.fake_quant import FakeQuantModel
from firebrick.quant.fixed_point import QuantizationError, choose_format
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.ops import Concat, Conv, GlobalAvgPool
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import LayerBits, QuantConfig, quantize_graph


@pytest.fixture(scope="module")
def trained(tiny_checkpoint):
    checkpoint = load_checkpoint(tiny_checkpoint)
    graph = canonicalize(lower_torch(checkpoint.build_model(), (1, 8, 8)))
    data = load_dataset("digits", channels=1, size=8)
    images = data.tensors("train")[0][:128]
    return graph, calibrate(graph, images), data


def _assert_executor_equals_fake_quant(graph, images):
    x = quantize_images(graph, images)
    golden = run_int(graph, x)[graph.output]
    fmt = graph.op(graph.input).fmt
    reference = FakeQuantModel(graph).integer_outputs(torch.from_numpy(x * 2.0**-fmt.frac)).numpy()
    assert np.array_equal(golden, reference)


def test_formats_follow_the_calibrated_ranges(trained):
    graph, ranges, _ = trained
    q = quantize_graph(graph, ranges, QuantConfig())
    conv1 = q.op("conv1").quant
    assert conv1.in_fmt == q.op("input").fmt == choose_format(1.0, 8, False)
    assert conv1.weight_fmt == choose_format(float(np.abs(graph.op("conv1").weight).max()), 8, True)
    assert not conv1.out_fmt.signed and q.op("conv10").quant.out_fmt.signed  # ReLU'd vs logits
    assert conv1.shift == conv1.in_fmt.frac + conv1.weight_fmt.frac - conv1.out_fmt.frac
    assert np.abs(conv1.weight).max() <= 128


def test_concat_inputs_share_one_format(trained):
    graph, ranges, _ = trained
    q = quantize_graph(graph, ranges, QuantConfig())
    for name, op in q.items():
        if isinstance(op, Concat):
            formats = {q.op(i).quant.out_fmt for i in q.inputs(name)}
            assert formats == {op.fmt}
            widest = max(ranges[i].max_abs for i in q.inputs(name))
            assert op.fmt.max_int * op.fmt.step >= widest * (1 - 1e-6) or widest >= 2 ** (op.fmt.bits - op.fmt.frac - 1)


def test_bias_is_int32_at_the_accumulator_frac(trained):
    graph, ranges, _ = trained
    q = quantize_graph(graph, ranges, QuantConfig())
    op = q.op("fire2.squeeze")
    expected = np.clip(np.floor(op.bias.astype(np.float64) * 2.0**op.quant.acc_frac + 0.5), -(2**31), 2**31 - 1)
    assert np.array_equal(op.quant.bias, expected)


@pytest.mark.parametrize("config", [
    QuantConfig(),
    QuantConfig(weight_bits=4, activation_bits=6),
    QuantConfig(codebook_bits=4),
    QuantConfig(codebook_bits=3, prune=0.3),
    QuantConfig(weight_bits=16, activation_bits=16, acc_bits=48),
])
def test_golden_executor_equals_fake_quantization(trained, config):
    graph, ranges, data = trained
    q = quantize_graph(graph, ranges, config)
    _assert_executor_equals_fake_quant(q, data.tensors("test")[0][:64].numpy())


def test_accumulator_overflow_is_reported(trained):
    graph, ranges, data = trained
    q = quantize_graph(graph, ranges, QuantConfig(weight_bits=16, activation_bits=16))  # 16x16-bit into 32 bits
    stats = ExecutionStats()
    run_int(q, quantize_images(q, data.tensors("test")[0][:16].numpy()), stats=stats)
    assert sum(stats.wrapped.values()) > 0


def test_codebook_layers_use_at_most_2_to_the_k_values(trained):
    graph, ranges, _ = trained
    q = quantize_graph(graph, ranges, QuantConfig(codebook_bits=3))
    for name, op in q.items():
        if isinstance(op, Conv):
            cq = op.quant
            assert len(cq.codebook) == 8 and cq.indices.max() < 8 and cq.codebook_bits == 3
            assert np.array_equal(cq.weight, cq.codebook[cq.indices.astype(np.int64)])
            assert len(np.unique(cq.weight)) <= 8


def test_pruning_zeroes_the_smallest_weights(trained):
    graph, ranges, _ = trained
    q = quantize_graph(graph, ranges, QuantConfig(prune=0.5))
    w = q.op("fire4.expand3x3").quant.weight
    assert np.mean(w == 0) >= 0.5


def test_per_layer_overrides(trained):
    graph, ranges, _ = trained
    q = quantize_graph(graph, ranges, QuantConfig(overrides={"conv1": LayerBits(weight_bits=4, activation_bits=6)}))
    assert q.op("conv1").quant.weight_fmt.bits == 4 and q.op("conv1").quant.out_fmt.bits == 6
    assert q.op("fire2.squeeze").quant.weight_fmt.bits == 8
    with pytest.raises(QuantizationError, match="override for unknown layer\\(s\\) convX"):
        quantize_graph(graph, ranges, QuantConfig(overrides={"convX": LayerBits(4)}))


def test_bad_configs_and_weights_are_refused(trained):
    graph, ranges, _ = trained
    with pytest.raises(QuantizationError, match="weight bits must be an integer in 2..16, not 20"):
        QuantConfig(weight_bits=20)
    broken = graph.copy()
    op = broken.op("fire3.squeeze")
    weight = op.weight.copy()
    weight[0, 0, 0, 0] = np.nan
    broken.set_op("fire3.squeeze", dataclasses.replace(op, weight=weight))
    with pytest.raises(QuantizationError, match="layer 'fire3.squeeze' has NaN or infinite weights"):
        quantize_graph(broken, ranges, QuantConfig())


def test_wrong_calibration_data_is_refused(trained):
    graph, _, _ = trained
    with pytest.raises(QuantizationError, match=r"calibration images are shaped \(4, 1, 16, 16\); the graph takes \(N, 1, 8, 8\)"):
        calibrate(graph, np.zeros((4, 1, 16, 16), np.float32))
    with pytest.raises(QuantizationError, match="hold NaN"):
        calibrate(graph, np.full((4, 1, 8, 8), np.nan, np.float32))


def test_pool_over_a_non_power_of_two_area_uses_a_multiplier():
    spec = model_spec("squeezenet_tiny28_hw")  # ends on a 4x4 map: a shift; make it 7x7
    spec = spec.replace(input_size=28, body=spec.body[:-1])
    model = FireNet(spec).eval()
    graph = canonicalize(lower_torch(model, (1, 28, 28)))
    images = torch.rand(16, 1, 28, 28)
    q = quantize_graph(graph, calibrate(graph, images), QuantConfig())
    pool = q.op(q.output)
    assert isinstance(pool, GlobalAvgPool) and pool.multiplier == round(2**21 / 49)
    _assert_executor_equals_fake_quant(q, images.numpy())
