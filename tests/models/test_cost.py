"""Exact analytic cost against the published counts, and the dissertation's rules of thumb."""

import dataclasses

import pytest
from torch import nn

from firebrick.models.cost import model_cost
from firebrick.models.design_space import generate
from firebrick.models.firenet import FireNet
from firebrick.models.spec import FireSpec
from firebrick.models.zoo import SQUEEZENET1_1, build_model, model_spec


@pytest.mark.parametrize(
    "name, input_size, params, macs",
    [
        ("squeezenet1_1", 227, 1_235_496, 387_747_520),
        ("squeezenet1_1", 224, 1_235_496, 349_151_936),
        ("squeezenet1_0", 227, 1_248_424, 861_339_936),
        ("squeezenet1_0", 224, 1_248_424, 847_596_576),
        ("zynqnet", 256, 2_528_800, 529_301_504),
    ],
)
def test_published_counts_are_exact(name, input_size, params, macs):
    cost = model_cost(build_model(name, input_size=input_size))
    assert cost.params == params
    assert cost.macs == macs
    assert sum(layer.params for layer in cost.layers) == params


def _out_sizes(cost, kinds=("conv", "maxpool")):
    return {layer.name: layer.out_shape[-1] for layer in cost.layers if layer.kind in kinds}


def test_squeezenet1_1_layer_table_matches_the_release():
    sizes = _out_sizes(model_cost(build_model("squeezenet1_1")))
    assert sizes["conv1"] == 113 and sizes["pool1"] == 56  # ceil-mode pool
    assert sizes["fire3.expand3x3"] == 56 and sizes["pool3"] == 28
    assert sizes["fire5.expand3x3"] == 28 and sizes["pool5"] == 14
    assert sizes["fire9.expand3x3"] == 14 and sizes["conv10"] == 14


def test_squeezenet1_0_layer_table_matches_the_release():
    sizes = _out_sizes(model_cost(build_model("squeezenet1_0")))
    assert (sizes["conv1"], sizes["pool1"], sizes["pool4"], sizes["pool8"]) == (111, 55, 27, 13)
    assert sizes["conv10"] == 15  # the release pads its 1x1 conv10 by 1


def test_zynqnet_layer_table_matches_the_release():
    cost = model_cost(build_model("zynqnet"))
    sizes = _out_sizes(cost)
    expected = {"conv1": 128, "fire2.squeeze": 64, "fire3.squeeze": 64, "fire4.squeeze": 32, "fire5.squeeze": 32,
                "fire6.squeeze": 16, "fire7.squeeze": 16, "fire8.squeeze": 8, "fire9.squeeze": 8, "conv10": 8}
    assert {k: sizes[k] for k in expected} == expected
    assert not [layer for layer in cost.layers if layer.kind == "maxpool"]
    assert cost.layer("fire9.expand3x3").out_shape == (368, 8, 8)
    assert cost.layer("conv10").in_shape == (736, 8, 8) and cost.layer("conv10").out_shape == (1024, 8, 8)


def test_doubling_the_input_side_quadruples_every_layer():
    """A global change: every layer's MACs scale by about 4 (borders make it inexact)."""
    small = model_cost(build_model("squeezenet1_1", input_size=227))
    large = model_cost(build_model("squeezenet1_1", input_size=454))
    convs = [layer for layer in small.layers if layer.kind == "conv"]
    assert len(convs) == 26
    for layer in convs:
        ratio = large.layer(layer.name).macs / layer.macs
        assert 3.8 < ratio < 4.2, (layer.name, ratio)
    assert small.params == large.params


def test_more_filters_in_one_layer_changes_that_layer_and_the_next_only():
    """A local change: widening fire4's expand layers touches fire4's expands and fire5's squeeze."""
    base = generate(SQUEEZENET1_1)
    body = list(base.body)
    index = [i for i, item in enumerate(body) if isinstance(item, FireSpec)][2]  # fire4
    body[index] = dataclasses.replace(body[index], expand1x1=192, expand3x3=192)
    wider = base.replace(body=tuple(body))
    before, after = model_cost(FireNet(base)), model_cost(FireNet(wider))
    changed = {layer.name for layer in before.layers if layer != after.layer(layer.name)}
    assert changed == {"fire4.expand1x1", "fire4.expand3x3", "fire5.squeeze"}
    assert after.layer("fire5.squeeze").macs == before.layer("fire5.squeeze").macs * 384 // 256


def test_bit_widths_scale_bytes():
    spec = model_spec("squeezenet_tiny32_hw")
    at8 = model_cost(FireNet(spec), weight_bits=8, activation_bits=8)
    at4 = model_cost(FireNet(spec), weight_bits=4, activation_bits=4)
    conv1_8, conv1_4 = at8.layer("conv1"), at4.layer("conv1")
    assert conv1_8.activation_bytes == 16 * 16 * 16 and conv1_4.activation_bytes == 16 * 16 * 8
    # weights shrink with the bit width, 32-bit biases do not
    assert conv1_8.weight_bytes == 144 + 16 * 4 and conv1_4.weight_bytes == 72 + 16 * 4


def test_cost_of_a_user_module():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 5, 10))
    cost = model_cost(model, (3, 10, 10), name="user")
    conv, linear = cost.layers
    assert conv.out_shape == (8, 5, 5) and conv.macs == 8 * 25 * 27 and conv.params == 8 * 27 + 8
    assert linear.macs == 200 * 10 and linear.params == 2010
    assert cost.params == conv.params + linear.params


def test_batch_norm_is_counted_but_costs_no_macs():
    cost = model_cost(build_model("squeezenet_tiny8"))
    bns = [layer for layer in cost.layers if layer.kind == "batchnorm"]
    assert bns and all(layer.macs == 0 and layer.weight_bytes == 0 for layer in bns)
    assert bns[0].name == "conv1.bn" and bns[0].params == 2 * 16
