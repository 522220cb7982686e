"""Shared test set-up: one torch thread (faster on 2 cores), fixed seeds, checkpoints trained once per session,
and small quantized networks (random weights and biases) for hardware tests that need no training."""

import numpy as np
import pytest
import torch

from firebrick.models.zoo import training_spec
from firebrick.models.design_space import SqueezeNetMeta, generate
from firebrick.models.firenet import FireNet
from firebrick.models.spec import ConvSpec
from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import DEFAULT_MODEL
from firebrick.quant.calibrate import calibrate
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph


@pytest.fixture(autouse=True)
def _seeded():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield


def _train(tmp_path_factory, model: str, dataset: str, config: TrainConfig):
    spec, data = training_spec(model, dataset)
    path = tmp_path_factory.mktemp(model) / f"{model}.pt"
    train(spec, data, config, path, progress=False, threads=1)
    return path


@pytest.fixture(scope="session")
def default_checkpoint(tmp_path_factory):
    """The default model trained on digits with the default recipe (~20 s)."""
    return _train(tmp_path_factory, DEFAULT_MODEL, "digits", TrainConfig())


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A small hardware-ready model on 8x8 digits, trained briefly (~2 s): for plumbing, not accuracy."""
    return _train(tmp_path_factory, "squeezenet_tiny8_hw", "digits", TrainConfig(epochs=4))


# a network small enough for every board, the iCE40UP5K included
SMALL = SqueezeNetMeta(
    base_e=8, incr_e=8, num_fires=2, freq=2, sr=0.5, stem=ConvSpec(8, 3, 1, 1), input_size=8, input_channels=1,
    num_classes=4, downsample_before=(0,), hardware_ready=True, pow2_channels=True,
)


def _graph(meta, name):
    torch.manual_seed(0)
    model = FireNet(generate(meta, name=name)).eval()
    with torch.no_grad():  # non-zero biases, so that the hardware's bias path is exercised (training starts them at 0)
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d) and module.bias is not None:
                module.bias.uniform_(-0.2, 0.2)
    graph = canonicalize(lower_torch(model, (1, 8, 8)))
    images = torch.rand(32, 1, 8, 8)
    return quantize_graph(graph, calibrate(graph, images), QuantConfig())


@pytest.fixture(scope="session")
def small_graph():
    return _graph(SMALL, "small_board_net")


@pytest.fixture(scope="session")
def other_small_graph():
    """Another architecture than small_graph's: more fires, wider; more steps, weights and activations."""
    return _graph(SMALL.replace(base_e=16, incr_e=16, num_fires=3), "other_board_net")


@pytest.fixture(scope="session")
def medium_graph():
    """Weights (~60 Kbit) larger than one block RAM of any family, so some memory must land in block RAM."""
    return _graph(SMALL.replace(base_e=32, incr_e=32), "medium_board_net")
