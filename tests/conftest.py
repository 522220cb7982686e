"""Shared test set-up: one torch thread (faster on 2 cores), fixed seeds."""

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield
