"""The ONNX and torch.export (.pt2) front ends yield the graph the torch.fx front end does: names, wiring, convs, logits."""

import numpy as np
import pytest
import torch
from torch import nn

from firebrick.models.design_space import generate
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import TINY32
from firebrick.quant.float_executor import logits
from firebrick.quant.lower_export import lower_exported
from firebrick.quant.lower_onnx import lower_onnx
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.ops import Conv
from firebrick.quant.passes import canonicalize


def _onnx(model, path):
    torch.onnx.export(model, (torch.zeros(1, 1, 32, 32),), str(path / "m.onnx"), dynamo=False)
    return lower_onnx(path / "m.onnx")


def _pt2(model, path):
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1, 32, 32),)), str(path / "m.pt2"))
    return lower_exported(path / "m.pt2")


# (lower a model through the file, weight tolerance, logit tolerance): the ONNX exporter folds batch norm itself,
# torch.export keeps the weights as they are
FRONT_ENDS = {"onnx": (_onnx, dict(rtol=1e-5, atol=1e-6), dict(rtol=1e-4, atol=1e-5)), "pt2": (_pt2, dict(rtol=0, atol=0), {})}


@pytest.mark.parametrize("bypass", ["none", "complex"])
@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
def test_the_file_front_ends_and_fx_agree(tmp_path, front_end, bypass):
    lower, tolerance, logit_tolerance = FRONT_ENDS[front_end]
    torch.manual_seed(1)
    model = FireNet(generate(TINY32.replace(hardware_ready=True, bypass=bypass))).eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
    from_fx = canonicalize(lower_torch(model, (1, 32, 32)))
    from_file = canonicalize(lower(model, tmp_path))
    assert from_file.nodes() == from_fx.nodes()  # the same layer names: both files record the module paths
    for name in from_fx.nodes():
        assert from_file.inputs(name) == from_fx.inputs(name)
        a, b = from_fx.op(name), from_file.op(name)
        assert type(a) is type(b)
        if isinstance(a, Conv):
            assert (a.kernel, a.stride, a.padding, a.relu) == (b.kernel, b.stride, b.padding, b.relu)
            np.testing.assert_allclose(a.weight, b.weight, **tolerance)
            np.testing.assert_allclose(a.bias, b.bias, **tolerance)
    x = torch.rand(4, 1, 32, 32)
    torch.testing.assert_close(logits(from_file, x), logits(from_fx, x), **logit_tolerance)
