"""The torch.export (.pt2) front end: every spelling of the global pool, the refusals, no unpickling (agreement with
torch.fx: test_front_ends_agree.py)."""

import pickle
import zipfile

import pytest
import torch
from torch import nn

from firebrick.quant.lower_export import lower_exported
from firebrick.quant.lower_torch import UnsupportedLayerError
from firebrick.quant.passes import canonicalize


def _save(model, shape, path):
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, *shape),)), str(path))
    return path


class _Head(nn.Module):
    """A user's model written the common way: functional ReLU, a mean over H and W, a linear classifier."""

    def __init__(self, activation=torch.relu, pool=lambda x: x.mean(dim=(2, 3))):
        super().__init__()
        self.conv, self.bn, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Linear(4, 3)
        self.activation, self.pool = activation, pool

    def forward(self, x):
        return self.fc(self.pool(self.activation(self.bn(self.conv(x)))).flatten(1))


@pytest.mark.parametrize("pool", [lambda x: x.mean(dim=(2, 3)), lambda x: torch.mean(x, (-2, -1), keepdim=True),
                                  nn.AdaptiveAvgPool2d(1), nn.AvgPool2d(8)])
def test_every_spelling_of_the_global_pool_lowers_to_it(tmp_path, pool):
    graph = canonicalize(lower_exported(_save(_Head(pool=pool), (1, 8, 8), tmp_path / "head.pt2")))
    assert [type(op).__name__ for _, op in graph.items()] == ["Input", "Conv", "GlobalAvgPool", "Conv"]
    assert graph.nodes()[1] == "conv" and graph.nodes()[-1] == "fc"


class _ChannelMean(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return self.conv(x).mean(dim=1)


@pytest.mark.parametrize("model, message", [
    (_Head(activation=nn.functional.leaky_relu), r"leaky_relu is not supported: use ReLU"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)), r"is a max-pool: the accelerator has no pooling hardware"),
    (nn.Sequential(nn.Conv2d(1, 2, 5)), r"layer '0': 5x5 kernel; the accelerator runs 1x1 and 3x3"),
    (nn.Sequential(nn.Conv2d(2, 2, 3, groups=2)), r"grouped convolution \(groups=2\)"),
    (_ChannelMean(), r"mean over dims \[1\]; only the mean over H and W"),
])
def test_refusals_name_the_layer_and_the_fix(tmp_path, model, message):
    channels = 2 if isinstance(model, nn.Sequential) and model[0].in_channels == 2 else 1
    path = _save(model, (channels, 8, 8), tmp_path / "bad.pt2")
    with pytest.raises(UnsupportedLayerError, match=message):
        lower_exported(path)


class _Evil:
    def __reduce__(self):
        return (print, ("a .pt2 file ran code",))


def test_a_pt2_file_is_read_without_unpickling_objects(tmp_path, capsys):
    path = _save(_Head(), (1, 8, 8), tmp_path / "ok.pt2")
    evil = tmp_path / "evil.pt2"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("sample_inputs/model.pt"):  # a pickle torch.export.load reads back
                data = pickle.dumps(_Evil(), protocol=2)
            dst.writestr(item, data)
    with pytest.raises(UnsupportedLayerError, match="is not a readable torch.export program"):
        lower_exported(evil)
    assert "ran code" not in capsys.readouterr().out
    (tmp_path / "garbage.pt2").write_bytes(b"\x00garbage")
    with pytest.raises(UnsupportedLayerError, match="is not a readable torch.export program"):
        lower_exported(tmp_path / "garbage.pt2")
