"""The golden executor: hand-computed cases, saturation and wrap statistics, and a property test against
an independent float64 fake-quantized torch forward on random graphs, bit for bit."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firebrick.quant.executor import ExecutionStats, im2col, quantize_images, run_int
from firebrick.quant.fake_quant import FakeQuantModel
from firebrick.quant.fixed_point import Format, QuantizationError
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, Concat, Conv, ConvQuant, GlobalAvgPool, Input
from firebrick.quant.quantize import _pool_params


def int_conv(weight, bias, in_fmt, w_fmt, out_fmt, *, stride=1, padding=0, relu=False, acc_bits=32):
    weight = np.asarray(weight, np.int64)
    o, i, k, _ = weight.shape
    q = ConvQuant(in_fmt, w_fmt, out_fmt, weight, np.asarray(bias, np.int64), in_fmt.frac + w_fmt.frac - out_fmt.frac, acc_bits)
    return Conv(i, o, k, stride, padding, weight.astype(np.float32), np.zeros(o, np.float32), relu, q)


def test_one_conv_by_hand():
    g = Graph()
    u8 = Format(8, 0, False)
    g.add("input", Input((1, 3, 3), u8))
    # one 3x3 filter of ones, padding 1, stride 2 -> corners of the 3x3 image; shift 1 halves with rounding
    g.add("conv", int_conv(np.ones((1, 1, 3, 3)), [1], u8, Format(8, 0, True), Format(8, -1, True), stride=2, padding=1), ["input"])
    g.output = "conv"
    x = np.arange(9).reshape(1, 1, 3, 3)
    y = run_int(g, x)["conv"]
    # top-left window sums 0+1+3+4 = 8, +bias 1 = 9 -> 9/2 = 4.5 rounds half up to 5
    sums = np.array([[0 + 1 + 3 + 4, 1 + 2 + 4 + 5], [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]]) + 1
    assert y[0, 0].tolist() == ((sums + 1) >> 1).tolist()


def test_im2col_matches_torch_unfold():
    x = np.random.default_rng(0).integers(-5, 5, (2, 3, 7, 5))
    for k, s, p in [(1, 1, 0), (3, 1, 1), (3, 2, 1), (3, 2, 0), (1, 2, 0)]:
        cols, ho, wo = im2col(x, k, s, p)
        ref = torch.nn.functional.unfold(torch.from_numpy(x).double(), k, padding=p, stride=s)  # (N, C*k*k, L)
        assert np.array_equal(cols, ref.permute(0, 2, 1).reshape(-1, ref.shape[1]).numpy().astype(np.int64))


def test_saturation_and_wrap_are_counted():
    g = Graph()
    u8 = Format(8, 0, False)
    g.add("input", Input((1, 1, 2), u8))
    g.add("conv", int_conv([[[[100]]], [[[-100]]]], [0, 0], u8, Format(8, 0, True), Format(8, 0, True), acc_bits=16), ["input"])
    g.output = "conv"
    stats = ExecutionStats()
    y = run_int(g, np.array([[[[1, 255]]]]), stats=stats)["conv"]
    # 100 fits; 25500 and -25500 saturate; -100 fits. acc 16 bits: 25500 < 32768, no wrap
    assert y[0, :, 0].tolist() == [[100, 127], [-100, -128]]
    assert stats.saturated["conv"] == 2 and stats.wrapped["conv"] == 0
    g.set_op("conv", int_conv([[[[200]]]], [0], u8, Format(8, 0, True), Format(8, 0, True), acc_bits=16))
    stats = ExecutionStats()
    y = run_int(g, np.array([[[[1, 255]]]]), stats=stats)["conv"]  # 51000 wraps to 51000 - 65536 = -14536
    assert y[0, 0, 0].tolist() == [127, -128] and stats.wrapped["conv"] == 1


def test_float_images_and_unquantized_graphs_are_refused():
    g = Graph()
    g.add("input", Input((1, 2, 2), Format(8, 0, False)))
    g.output = "input"
    with pytest.raises(QuantizationError, match="takes integer images"):
        run_int(g, np.zeros((1, 1, 2, 2)))
    with pytest.raises(QuantizationError, match=r"input integers outside u8.0"):
        run_int(g, np.full((1, 1, 2, 2), 300))
    g.set_op("input", Input((1, 2, 2)))
    with pytest.raises(QuantizationError, match="'input' is not quantized"):
        run_int(g, np.zeros((1, 1, 2, 2), np.int64))


# -- property test: random quantized graphs ---------------------------------------------------------

@st.composite
def formats(draw, signed=None, bits=None):
    return Format(bits or draw(st.integers(3, 10)), draw(st.integers(-3, 9)), draw(st.booleans()) if signed is None else signed)


@st.composite
def random_conv(draw, in_fmt, cin, size, out_fmt=None):
    kernel = draw(st.sampled_from([1, 3]))
    stride = draw(st.sampled_from([1, 2]))
    padding = draw(st.integers(0, 1)) if kernel == 3 else 0
    if size + 2 * padding < kernel:
        padding = 1
    cout = draw(st.integers(1, 4))
    relu = draw(st.booleans()) if out_fmt is None else not out_fmt.signed
    w_fmt = draw(formats(signed=True, bits=draw(st.integers(2, 8))))
    out_fmt = out_fmt or draw(formats(signed=not relu))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weight = rng.integers(w_fmt.min_int, w_fmt.max_int + 1, (cout, cin, kernel, kernel))
    bias = rng.integers(-(2**12), 2**12, cout)
    conv = int_conv(weight, bias, in_fmt, w_fmt, out_fmt, stride=stride, padding=padding, relu=relu)
    return conv, (size + 2 * padding - kernel) // stride + 1


@st.composite
def random_graphs(draw):
    g = Graph("random")
    in_fmt = draw(formats())
    c, size = draw(st.integers(1, 3)), draw(st.integers(3, 9))
    g.add("input", Input((c, size, size), in_fmt))
    last, fmt = "input", in_fmt
    for i in range(draw(st.integers(1, 3))):
        op, size = draw(random_conv(fmt, c, size))
        last, fmt, c = g.add(f"conv{i}", op, [last]), op.quant.out_fmt, op.out_channels
    if draw(st.booleans()):  # a fire-like branch: two convs of one shared format, concatenated
        shared = draw(formats())
        a, _ = draw(random_conv(fmt, c, size, shared))
        a = Conv(a.in_channels, a.out_channels, 1, 1, 0, a.weight[:, :, :1, :1].copy(), a.bias, a.relu,
                 ConvQuant(fmt, a.quant.weight_fmt, shared, a.quant.weight[:, :, :1, :1].copy(), a.quant.bias, a.quant.shift))
        b_weight = np.ones((2, c, 3, 3), np.int64)
        b = int_conv(b_weight, [0, 0], fmt, Format(2, 0, True), shared, padding=1, relu=not shared.signed)
        g.add("e1", a, [last])
        g.add("e3", b, [last])
        last, c = g.add("concat", Concat(shared), ["e1", "e3"]), a.out_channels + 2
        fmt = shared
    if draw(st.booleans()):  # bypass: add a 1x1 conv of the same shape
        other, _ = draw(random_conv(fmt, c, size))
        other = int_conv(other.quant.weight[:, :, :1, :1] if other.kernel == 3 else other.quant.weight, other.quant.bias,
                         fmt, other.quant.weight_fmt, other.quant.out_fmt, relu=other.relu)
        g.add("shortcut", other, [last])
        shortcut_c = other.out_channels
        if shortcut_c == c:
            out = draw(formats())
            relu = draw(st.booleans())
            last, fmt = g.add("add", Add(relu, Format(out.bits, out.frac, out.signed and not relu)), [last, "shortcut"]), out
        else:
            last, fmt, c = "shortcut", other.quant.out_fmt, shortcut_c
    if draw(st.booleans()):
        out = draw(formats(signed=fmt.signed))
        multiplier, shift = _pool_params(size * size, fmt.frac, out.frac)
        last = g.add("pool", GlobalAvgPool(out, multiplier, shift), [last])
    g.output = last
    return g


def _input_fmt(graph):
    return graph.op(graph.input).fmt


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_graphs(), seed=st.integers(0, 2**32 - 1))
def test_executor_equals_float64_fake_quantization(graph, seed):
    fmt = _input_fmt(graph)
    rng = np.random.default_rng(seed)
    x = rng.integers(fmt.min_int, fmt.max_int + 1, (3, *graph.op(graph.input).shape))
    golden = run_int(graph, x)[graph.output]
    reference = FakeQuantModel(graph).integer_outputs(torch.from_numpy(x * 2.0**-fmt.frac)).numpy()
    mismatch = np.argwhere(golden != reference)
    assert mismatch.size == 0, f"first mismatch at (image, channel, y, x) {tuple(mismatch[0])}: executor {golden[tuple(mismatch[0])]}, torch {reference[tuple(mismatch[0])]}"


def test_quantize_images_rounds_into_the_input_format():
    g = Graph()
    g.add("input", Input((1, 1, 3), Format(8, 8, False)))
    g.output = "input"
    assert quantize_images(g, np.array([[[[0.0, 0.5, 1.0]]]])).tolist() == [[[[0, 128, 255]]]]
