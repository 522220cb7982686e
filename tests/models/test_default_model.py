"""The promise of the README's main command: the default model learns digits to >= 98 %."""

from firebrick.flow import training_spec
from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import DEFAULT_MODEL


def test_default_model_reaches_98_percent_on_digits(tmp_path):
    spec, dataset = training_spec(DEFAULT_MODEL, "digits")
    checkpoint = train(spec, dataset, TrainConfig(), tmp_path / "default.pt", progress=False, threads=1)
    accuracy = checkpoint.metadata["accuracy"]
    assert accuracy["test"] >= 0.98, accuracy
    assert checkpoint.metadata["epochs_done"] == TrainConfig().epochs
