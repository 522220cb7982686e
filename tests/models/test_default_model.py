"""The promise of the README's main command: the default model learns digits to >= 98 %."""

from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.training import TrainConfig


def test_default_model_reaches_98_percent_on_digits(default_checkpoint):
    metadata = load_checkpoint(default_checkpoint).metadata
    assert metadata["accuracy"]["test"] >= 0.98, metadata["accuracy"]
    assert metadata["epochs_done"] == TrainConfig().epochs and metadata["complete"]
