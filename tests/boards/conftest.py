"""A quantized network small enough for every board, the iCE40UP5K included (random weights, seeded)."""

import pytest
import torch

from firebrick.models.design_space import SqueezeNetMeta, generate
from firebrick.models.firenet import FireNet
from firebrick.models.spec import ConvSpec
from firebrick.quant.calibrate import calibrate
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph

SMALL = SqueezeNetMeta(
    base_e=8, incr_e=8, num_fires=2, freq=2, sr=0.5, stem=ConvSpec(8, 3, 1, 1), input_size=8, input_channels=1,
    num_classes=4, downsample_before=(0,), hardware_ready=True, pow2_channels=True,
)


def _graph(meta, name):
    torch.manual_seed(0)
    model = FireNet(generate(meta, name=name)).eval()
    graph = canonicalize(lower_torch(model, (1, 8, 8)))
    images = torch.rand(32, 1, 8, 8)
    return quantize_graph(graph, calibrate(graph, images), QuantConfig())


@pytest.fixture(scope="session")
def small_graph():
    return _graph(SMALL, "small_board_net")


@pytest.fixture(scope="session")
def medium_graph():
    """Weights (~60 Kbit) larger than one block RAM of any family, so some memory must land in block RAM."""
    return _graph(SMALL.replace(base_e=32, incr_e=32), "medium_board_net")
