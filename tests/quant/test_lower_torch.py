"""torch.fx lowering: zoo and user-written models lower to graphs that compute the same; the rest is refused by name."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from firebrick.models.design_space import generate
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import TINY32, build_model
from firebrick.quant.float_executor import logits
from firebrick.quant.lower_torch import UnsupportedLayerError, lower_torch
from firebrick.quant.ops import Conv, GlobalAvgPool
from firebrick.quant.passes import canonicalize


def _randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.mark.parametrize("bypass", ["none", "simple", "complex"])
def test_fire_nets_lower_to_the_same_function(bypass):
    meta = TINY32.replace(hardware_ready=True, bypass=bypass, downsample_before=(2,))  # fire3, fire5 keep their shape
    model = _randomize_bn(FireNet(generate(meta)))
    graph = canonicalize(lower_torch(model, (1, 32, 32)))
    x = torch.rand(4, 1, 32, 32)
    torch.testing.assert_close(logits(graph, x), model(x), rtol=1e-4, atol=1e-5)
    names = graph.nodes()
    assert names[:6] == ["input", "conv1", "fire2.squeeze", "fire2.expand1x1", "fire2.expand3x3", "fire2.concat"]
    assert names[-2:] == ["conv10", "pool10"]
    adds = [n for n in names if n.endswith(".add")]
    assert adds == {"none": [], "simple": ["fire3.add", "fire5.add"], "complex": [f"fire{i}.add" for i in range(2, 6)]}[bypass]


def test_imagenet_sized_hw_model_lowers():
    model = build_model("squeezenet1_1_hw").eval()
    graph = canonicalize(lower_torch(model, (3, 256, 256)))
    convs = [op for _, op in graph.items() if isinstance(op, Conv)]
    assert len(convs) == 26 and sum(op.stride == 2 for op in convs) == 4


class UserNet(nn.Module):
    """Written by hand, not from the zoo: functional ReLU, torch.cat, +, mean pooling, a Linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.left = nn.Conv2d(8, 4, 1)
        self.right = nn.Conv2d(8, 4, 3, padding=1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        y = torch.cat([self.left(x).relu(), torch.relu(self.right(x))], dim=1)
        y = y + x
        return self.fc(self.drop(y.mean((2, 3))))


def test_user_written_model_lowers():
    model = _randomize_bn(UserNet())
    graph = canonicalize(lower_torch(model, (3, 10, 10)))
    kinds = [type(op).__name__ for _, op in graph.items()]
    assert kinds == ["Input", "Conv", "Conv", "Conv", "Concat", "Add", "GlobalAvgPool", "Conv"]
    fc = graph.op(graph.output)
    assert isinstance(fc, Conv) and fc.kernel == 1 and isinstance(graph.op(graph.inputs(graph.output)[0]), GlobalAvgPool)
    x = torch.rand(3, 3, 10, 10)
    torch.testing.assert_close(logits(graph, x), model(x), rtol=1e-4, atol=1e-5)


class Wrap(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize(
    "layers, message",
    [
        ((nn.Conv2d(1, 4, 3), nn.MaxPool2d(2)), r"layer 'body.1' is a max-pool: .*stride-2 3x3 convolution"),
        ((nn.Conv2d(1, 4, 3, dilation=2),), r"layer 'body.0': dilation \(2, 2\); use dilation 1"),
        ((nn.Conv2d(2, 4, 3, groups=2),), r"layer 'body.0': grouped convolution \(groups=2\)"),
        ((nn.Conv2d(1, 4, 5),), r"layer 'body.0': 5x5 kernel; the accelerator runs 1x1 and 3x3"),
        ((nn.Conv2d(1, 4, (1, 3)),), r"layer 'body.0': non-square kernel"),
        ((nn.Conv2d(1, 4, 3, stride=3),), r"layer 'body.0': stride 3"),
        ((nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 3)), r"flattens a 6x6 feature map"),
        ((nn.Conv2d(1, 2, 3), nn.Sigmoid()), r"layer 'body.1' \(Sigmoid\) is not supported"),
    ],
)
def test_unsupported_layers_are_named_with_the_fix(layers, message):
    in_channels = layers[0].in_channels
    with pytest.raises(UnsupportedLayerError, match=message):
        lower_torch(Wrap(*layers), (in_channels, 8, 8))


def test_zoo_max_pool_model_is_refused():
    with pytest.raises(UnsupportedLayerError, match="layer 'pool1' is a max-pool.*squeezenet1_1_hw"):
        lower_torch(build_model("squeezenet1_1"), (3, 227, 227))


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_untraceable_model():
    with pytest.raises(UnsupportedLayerError, match="torch.fx cannot trace the model"):
        lower_torch(Branchy(), (1, 4, 4))


class MeanHead(nn.Module):
    """A global average pool written the ways people write it."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = F.relu(self.conv(x))
        if self.how == "method-kwargs":
            y = y.mean(dim=(2, 3))
        elif self.how == "function":
            y = torch.mean(y, (2, 3))
        elif self.how == "negative-keepdim":
            y = y.mean(dim=[-2, -1], keepdim=True).flatten(1)
        return self.fc(y)


@pytest.mark.parametrize("how", ["method-kwargs", "function", "negative-keepdim"])
def test_a_mean_over_height_and_width_is_the_global_pool(how):
    model = MeanHead(how).eval()
    graph = canonicalize(lower_torch(model, (1, 8, 8)))
    assert [type(op).__name__ for _, op in graph.items()] == ["Input", "Conv", "GlobalAvgPool", "Conv"]
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(logits(graph, x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layer", [nn.LeakyReLU(0.1), nn.ReLU6(), nn.GELU()])
def test_other_activations_are_refused_with_the_relu_fix(layer):
    with pytest.raises(UnsupportedLayerError, match=rf"layer 'body.1' \({type(layer).__name__}\) is not supported: use ReLU"):
        lower_torch(Wrap(nn.Conv2d(1, 4, 3), layer), (1, 8, 8))
