"""The ONNX front end yields the graph the torch.fx front end does."""

import numpy as np
import pytest
import torch
from torch import nn

from firebrick.models.design_space import generate
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import TINY32
from firebrick.quant.float_executor import logits
from firebrick.quant.lower_onnx import lower_onnx
from firebrick.quant.lower_torch import UnsupportedLayerError, lower_torch
from firebrick.quant.ops import Conv
from firebrick.quant.passes import canonicalize


def _export(model, shape, path):
    torch.onnx.export(model.eval(), (torch.zeros(1, *shape),), str(path), dynamo=False)
    return path


@pytest.mark.parametrize("bypass", ["none", "complex"])
def test_onnx_and_fx_front_ends_agree(tmp_path, bypass):
    torch.manual_seed(1)
    model = FireNet(generate(TINY32.replace(hardware_ready=True, bypass=bypass))).eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
    from_fx = canonicalize(lower_torch(model, (1, 32, 32)))
    from_onnx = canonicalize(lower_onnx(_export(model, (1, 32, 32), tmp_path / "m.onnx")))
    assert from_onnx.nodes() == from_fx.nodes()
    for name in from_fx.nodes():
        assert from_onnx.inputs(name) == from_fx.inputs(name)
        a, b = from_fx.op(name), from_onnx.op(name)
        assert type(a) is type(b)
        if isinstance(a, Conv):
            assert (a.kernel, a.stride, a.padding, a.relu) == (b.kernel, b.stride, b.padding, b.relu)
            np.testing.assert_allclose(a.weight, b.weight, rtol=1e-5, atol=1e-6)  # the exporter folds BN itself
            np.testing.assert_allclose(a.bias, b.bias, rtol=1e-5, atol=1e-6)
    x = torch.rand(4, 1, 32, 32)
    torch.testing.assert_close(logits(from_onnx, x), logits(from_fx, x), rtol=1e-4, atol=1e-5)


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
