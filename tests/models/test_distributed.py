"""Data-parallel training: the shards add up to the one-worker batches, the batch rule, torchrun on two "nodes"
equals the built-in launcher bit for bit, a dying worker is named and the run resumes to the same weights."""

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from firebrick.errors import TrainingError
from firebrick.models import training
from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import load_dataset
from firebrick.models.distributed import Group
from firebrick.models.training import TrainConfig, _epoch_shard, train
from firebrick.models.zoo import model_spec

SPEC = model_spec("squeezenet_tiny8")
TWO = TrainConfig(epochs=2, batch_size=32, lr=0.05, workers=2)


@pytest.fixture(scope="module")
def digits8():
    return load_dataset("digits", channels=1, size=8)


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_workers_shards_add_up_to_the_batches_of_one_worker():
    count, batch = 1259, 32  # odd: the sampler pads the last shard
    one, _ = _epoch_shard(count, TrainConfig(batch_size=2 * batch), 3, Group())
    shards = [_epoch_shard(count, TWO, 3, Group(rank, 2))[0] for rank in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == math.ceil(count / 2)
    assert set(shards[0].tolist()).isdisjoint(shards[1][:-1].tolist())  # distinct, but for the one padded image
    for step in range(math.ceil(count / (2 * batch))):
        together = torch.cat([s[step * batch : (step + 1) * batch] for s in shards])
        alone = one[step * 2 * batch : (step + 1) * 2 * batch]
        assert set(alone.tolist()) <= set(together.tolist()) and len(together) - len(alone) <= 1
    # each worker shifts its images with its own generator
    g0, g1 = (_epoch_shard(count, TWO, 3, Group(rank, 2))[1] for rank in (0, 1))
    assert not torch.equal(torch.rand(4, generator=g0), torch.rand(4, generator=g1))


def test_the_rate_warms_up_to_workers_times_lr_then_decays_and_one_worker_is_unchanged():
    config = TrainConfig(epochs=10, lr=0.05, workers=4)
    assert (config.global_batch, config.peak_lr, config.warmup_epochs) == (256, 0.2, 1)
    steps = 7
    rates = [config.learning_rate(step, steps) for step in range(10 * steps)]
    assert rates[0] == 0.05 and rates[steps] == pytest.approx(0.2) and rates[-1] < 0.01
    assert all(a < b for a, b in zip(rates[:steps], rates[1 : steps + 1])) and all(a >= b for a, b in zip(rates[steps:], rates[steps + 1 :]))
    single = TrainConfig(epochs=10, lr=0.1)
    # bit for bit the cosine of the one-process trainer, and the same identity as checkpoints written before workers
    assert [single.learning_rate(s, steps) for s in range(70)] == [0.1 * 0.5 * (1 + math.cos(math.pi * s / 70)) for s in range(70)]
    assert "workers" not in single.identity() and config.identity()["workers"] == 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_on_two_nodes_equals_the_built_in_two_worker_launch_bit_for_bit(digits8, tmp_path):
    here = train(SPEC, digits8, TWO, tmp_path / "here.pt", progress=False)
    parallel = here.metadata["parallel"]
    assert (parallel["workers"], parallel["global_batch"], parallel["peak_lr"], parallel["warmup_epochs"]) == (2, 64, 0.1, 1)
    assert here.metadata["complete"] and here.metadata["accuracy"]["test"] > 0.2  # 10 classes: chance is 0.1

    torchrun = Path(sys.executable).with_name("torchrun")
    launcher = [str(torchrun), "--nnodes", "2", "--nproc-per-node", "1", "--master-addr", "127.0.0.1",
                "--master-port", str(_free_port())]
    command = ["-m", "firebrick.cli", "train", "--model", "squeezenet_tiny8", "--epochs", "2", "--batch-size", "32",
               "--lr", "0.05", "-o", str(tmp_path / "nodes.pt"), "--no-progress", "--json"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    nodes = [subprocess.Popen([*launcher, "--node-rank", str(rank), *command], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for rank in (0, 1)]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    assert outputs[1][0] == ""  # rank 0 reports, once
    document = json.loads(outputs[0][0])
    assert document["parallel"]["workers"] == 2 and document["accuracy"] == here.metadata["accuracy"]
    # two ranks: each gradient element is a + b on both sides, so gloo's order cannot differ
    assert _same_weights(load_checkpoint(tmp_path / "nodes.pt").state_dict, here.state_dict)


def test_a_dying_worker_is_named_its_last_epoch_kept_and_the_run_resumes_to_the_same_weights(digits8, tmp_path, monkeypatch):
    straight = train(SPEC, digits8, TWO, tmp_path / "straight.pt", progress=False)
    sys.path.insert(0, str(Path(__file__).parent))  # the workers import the dying trainer from here
    from dying_trainer import train_or_die

    with monkeypatch.context() as patch:
        patch.setattr(training, "_train_worker", train_or_die)
        with pytest.raises(TrainingError, match=r"worker rank 1 exited with code 9; .*after epoch 1; run the same command again"):
            train(SPEC, digits8, TWO, tmp_path / "resumed.pt", progress=False)
    assert load_checkpoint(tmp_path / "resumed.pt").metadata["epochs_done"] == 1
    resumed = train(SPEC, digits8, TWO, tmp_path / "resumed.pt", progress=False)
    assert resumed.metadata["epochs_done"] == 2 and _same_weights(resumed.state_dict, straight.state_dict)


def test_a_resumed_run_must_keep_its_worker_count(digits8, tmp_path):
    train(SPEC, digits8, TrainConfig(epochs=1), tmp_path / "a.pt", progress=False)
    with pytest.raises(Exception, match="another training settings"):
        train(SPEC, digits8, TrainConfig(epochs=1, workers=2), tmp_path / "a.pt", progress=False)
