"""Shared test set-up: one torch thread (faster on 2 cores), fixed seeds, checkpoints trained once per session."""

import numpy as np
import pytest
import torch

from firebrick.flow import training_spec
from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import DEFAULT_MODEL


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
