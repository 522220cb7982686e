"""The ONNX front end: refusals, ReduceMean as the global pool (agreement with torch.fx: test_front_ends_agree.py)."""

import pytest
import torch
from torch import nn

from firebrick.quant.lower_onnx import lower_onnx
from firebrick.quant.lower_torch import UnsupportedLayerError
from firebrick.quant.passes import canonicalize


def _export(model, shape, path):
    torch.onnx.export(model.eval(), (torch.zeros(1, *shape),), str(path), dynamo=False)
    return path


def test_onnx_max_pool_is_refused_by_name(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2))
    with pytest.raises(UnsupportedLayerError, match="is a max-pool: the accelerator has no pooling hardware"):
        lower_onnx(_export(model, (1, 8, 8), tmp_path / "p.onnx"))


def test_unreadable_onnx_file(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(UnsupportedLayerError, match="is not a readable ONNX model"):
        lower_onnx(tmp_path / "x.onnx")


def test_onnx_reduce_mean_over_height_and_width_is_the_global_pool(tmp_path):
    class MeanHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))

    model = MeanHead().eval()
    graph = canonicalize(lower_onnx(_export(model, (1, 8, 8), tmp_path / "mean.onnx")))
    assert [type(op).__name__ for _, op in graph.items()] == ["Input", "Conv", "GlobalAvgPool", "Conv"]


def test_onnx_leaky_relu_is_refused_with_the_relu_fix(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.LeakyReLU(0.1))
    with pytest.raises(UnsupportedLayerError, match=r"\(ONNX LeakyRelu\) is not supported: use ReLU"):
        lower_onnx(_export(model, (1, 8, 8), tmp_path / "leaky.onnx"))
