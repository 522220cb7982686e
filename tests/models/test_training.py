"""Training: it learns, it is deterministic, it resumes exactly, it never leaves half a checkpoint."""

import pytest
import torch

from firebrick.errors import CheckpointError, SpecError
from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import load_dataset
from firebrick.models.training import TrainConfig, evaluate, random_shift, train
from firebrick.models.zoo import model_spec

SPEC = model_spec("squeezenet_tiny8")
CONFIG = TrainConfig(epochs=3, max_shift=1)


@pytest.fixture(scope="module")
def digits8():
    return load_dataset("digits", channels=1, size=8)


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_learns_far_above_chance(digits8, tmp_path):
    checkpoint = train(SPEC, digits8, CONFIG, tmp_path / "a.pt", progress=False)
    meta = checkpoint.metadata
    assert meta["complete"] and meta["epochs_done"] == 3
    assert meta["history"][-1]["loss"] < meta["history"][0]["loss"]
    assert meta["accuracy"]["test"] > 0.4  # 10 classes: chance is 0.1
    model = load_checkpoint(tmp_path / "a.pt").build_model()
    assert evaluate(model, *digits8.tensors("test")) == meta["accuracy"]["test"]


def test_same_seed_same_weights_other_seed_other_weights(digits8, tmp_path):
    one = train(SPEC, digits8, TrainConfig(epochs=1), tmp_path / "1.pt", progress=False)
    two = train(SPEC, digits8, TrainConfig(epochs=1), tmp_path / "2.pt", progress=False)
    other = train(SPEC, digits8, TrainConfig(epochs=1, seed=1), tmp_path / "3.pt", progress=False)
    assert _same_weights(one.state_dict, two.state_dict)
    assert not _same_weights(one.state_dict, other.state_dict)


def test_interrupted_training_resumes_to_the_same_weights(digits8, tmp_path, monkeypatch):
    straight = train(SPEC, digits8, CONFIG, tmp_path / "straight.pt", progress=False)

    import firebrick.models.training as training

    real_evaluate = training.evaluate
    calls = {"n": 0}

    def interrupt_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(training, "evaluate", interrupt_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(SPEC, digits8, CONFIG, tmp_path / "resumed.pt", progress=False)
    saved = load_checkpoint(tmp_path / "resumed.pt")
    assert saved.metadata["epochs_done"] == 1 and not saved.metadata["complete"]
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left behind

    monkeypatch.setattr(training, "evaluate", real_evaluate)
    resumed = train(SPEC, digits8, CONFIG, tmp_path / "resumed.pt", progress=False)
    assert _same_weights(straight.state_dict, resumed.state_dict)
    assert resumed.metadata["history"] == straight.metadata["history"]
    assert resumed.metadata["accuracy"] == straight.metadata["accuracy"]


def test_a_finished_checkpoint_is_reused(digits8, tmp_path):
    first = train(SPEC, digits8, TrainConfig(epochs=1), tmp_path / "a.pt", progress=False)
    mtime = (tmp_path / "a.pt").stat().st_mtime_ns
    again = train(SPEC, digits8, TrainConfig(epochs=1), tmp_path / "a.pt", progress=False)
    assert (tmp_path / "a.pt").stat().st_mtime_ns == mtime
    assert _same_weights(first.state_dict, again.state_dict)


def test_another_run_in_the_output_is_refused_unless_overwritten(digits8, tmp_path):
    train(SPEC, digits8, TrainConfig(epochs=1), tmp_path / "a.pt", progress=False)
    with pytest.raises(CheckpointError, match="holds a run with another training settings.*--overwrite"):
        train(SPEC, digits8, TrainConfig(epochs=1, lr=0.01), tmp_path / "a.pt", progress=False)
    with pytest.raises(CheckpointError, match="holds a run with another model"):
        train(model_spec("squeezenet_tiny8_hw"), digits8, TrainConfig(epochs=1), tmp_path / "a.pt", progress=False)
    done = train(SPEC, digits8, TrainConfig(epochs=1, lr=0.01), tmp_path / "a.pt", overwrite=True, progress=False)
    assert done.metadata["config"]["lr"] == 0.01


def test_dataset_must_fit_the_model(digits8, tmp_path):
    with pytest.raises(SpecError, match=r"dataset images are \(1, 8, 8\), the model takes \(1, 32, 32\)"):
        train(model_spec("squeezenet_tiny32"), digits8, CONFIG, tmp_path / "x.pt", progress=False)
    assert not (tmp_path / "x.pt").exists()


def test_invalid_config():
    with pytest.raises(SpecError, match="epochs must be a positive integer, not 0"):
        TrainConfig(epochs=0)


def test_random_shift_moves_pixels_and_fills_zeros():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4) + 1
    generator = torch.Generator().manual_seed(3)
    shifted = random_shift(images, 1, generator)
    g = torch.Generator().manual_seed(3)
    dy, dx = torch.randint(0, 3, (2,), generator=g), torch.randint(0, 3, (2,), generator=g)
    for i in range(2):
        padded = torch.nn.functional.pad(images[i], (1, 1, 1, 1))
        expected = padded[:, dy[i] : dy[i] + 4, dx[i] : dx[i] + 4]
        assert torch.equal(shifted[i], expected)
    assert torch.equal(random_shift(images, 0, generator), images)
