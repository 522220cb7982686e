"""The zoo: names, forward passes, hardware readiness."""

import pytest
import torch

from firebrick.errors import UnknownNameError
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import DEFAULT_MODEL, ZOO, build_model, model_spec, zoo_entry


def test_zoo_names():
    for name in ("squeezenet1_0", "squeezenet1_1", "zynqnet", "squeezenet1_0_hw", "squeezenet1_1_hw",
                 "squeezenet_tiny8", "squeezenet_tiny28", "squeezenet_tiny32", DEFAULT_MODEL):
        assert name in ZOO
        assert model_spec(name).name == name


def test_unknown_model_suggests_the_closest_name():
    with pytest.raises(UnknownNameError, match=r"unknown model 'squeezenet1_2': did you mean 'squeezenet1_1'\?"):
        zoo_entry("squeezenet1_2")


@pytest.mark.parametrize("name", sorted(ZOO))
def test_forward_gives_one_score_per_class(name):
    spec = model_spec(name)
    model = FireNet(spec).eval()
    device = "cpu" if spec.input_size <= 32 else "meta"  # the ImageNet-sized ones: shapes only
    model = model.to(device)
    out = model(torch.rand(2, spec.input_channels, spec.input_size, spec.input_size, device=device))
    assert tuple(out.shape) == (2, spec.num_classes)


def test_hw_variants_are_hardware_ready_and_releases_are_not():
    for name in ZOO:
        spec = model_spec(name)
        expected = name.endswith("_hw") or name == "zynqnet"
        assert spec.hardware_ready == expected, name


def test_hw_variants_of_imagenet_nets_have_power_of_two_maps():
    for name in ("squeezenet1_0_hw", "squeezenet1_1_hw", "zynqnet"):
        last = model_spec(name).feature_sizes()[-1]
        assert last & (last - 1) == 0, (name, last)


def test_default_model_is_hardware_ready_and_small():
    spec = model_spec(DEFAULT_MODEL)
    assert spec.hardware_ready and spec.input_size == 32
    assert sum(p.numel() for p in build_model(DEFAULT_MODEL).parameters()) < 50_000


def test_other_input_size_and_classes():
    spec = model_spec("squeezenet1_1", input_size=224, num_classes=5)
    assert spec.input_size == 224 and spec.num_classes == 5
