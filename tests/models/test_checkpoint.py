"""Checkpoints: round trip, safe loading, clear errors for missing, truncated, foreign and newer files."""

import json

import pytest
import torch

from firebrick.errors import CheckpointError
from firebrick.models.checkpoint import CHECKPOINT_FORMAT, Checkpoint, load_checkpoint, save_checkpoint
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import model_spec


@pytest.fixture
def saved(tmp_path):
    spec = model_spec("squeezenet_tiny8_hw")
    model = FireNet(spec)
    path = tmp_path / "model.pt"
    save_checkpoint(path, Checkpoint(spec, model.state_dict(), {"accuracy": {"test": 0.5}}))
    return path, spec, model


def test_round_trip(saved):
    path, spec, model = saved
    loaded = load_checkpoint(path)
    assert loaded.spec == spec and loaded.metadata["accuracy"] == {"test": 0.5}
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(loaded.build_model()(x), model.eval()(x))


def test_loads_with_weights_only(saved):
    path, _, _ = saved
    document = torch.load(path, weights_only=True)
    assert document["format"] == CHECKPOINT_FORMAT
    assert json.loads(document["metadata"])["spec"]["name"] == "squeezenet_tiny8_hw"


def test_missing(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist; train one with `firebrick train"):
        load_checkpoint(tmp_path / "none.pt")


def test_truncated(saved):
    path, _, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="is truncated or not a torch checkpoint"):
        load_checkpoint(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="is truncated or not a torch checkpoint"):
        load_checkpoint(path)


def test_foreign_torch_file(tmp_path):
    path = tmp_path / "foreign.pt"
    torch.save(FireNet(model_spec("squeezenet_tiny8")).state_dict(), path)
    with pytest.raises(CheckpointError, match="is not a firebrick checkpoint"):
        load_checkpoint(path)


def test_newer_version(saved):
    path, _, _ = saved
    document = torch.load(path, weights_only=True)
    document["version"] = 99
    torch.save(document, path)
    with pytest.raises(CheckpointError, match="checkpoint version 99; this firebrick reads up to 1, upgrade"):
        load_checkpoint(path)


def test_weights_that_do_not_match_the_spec(saved):
    path, _, _ = saved
    document = torch.load(path, weights_only=True)
    document["state_dict"].pop("classifier.conv10.weight")
    torch.save(document, path)
    with pytest.raises(CheckpointError, match="weights do not match its network spec"):
        load_checkpoint(path)
