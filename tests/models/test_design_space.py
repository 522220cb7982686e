"""The SqueezeNet design-space generator: channel rules, hardware-ready rules, bypass, errors."""

import pytest
import torch

from firebrick.errors import SpecError
from firebrick.models.design_space import SqueezeNetMeta, fire_channels, generate
from firebrick.models.firenet import Fire, FireNet
from firebrick.models.spec import Bypass, ConvSpec, FireSpec, PoolSpec
from firebrick.models.zoo import SQUEEZENET1_0, SQUEEZENET1_1, TINY32


def test_default_metaparameters_reproduce_squeezenet():
    meta = SqueezeNetMeta()
    table = [fire_channels(meta, i) for i in range(8)]
    assert table == [(16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128),
                     (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]


def test_pct_3x3_and_squeeze_ratio():
    meta = SqueezeNetMeta(base_e=100, incr_e=20, freq=3, pct_3x3=0.25, sr=0.5)
    assert fire_channels(meta, 0) == (50, 75, 25)
    assert fire_channels(meta, 2) == (50, 75, 25)
    assert fire_channels(meta, 3) == (60, 90, 30)  # e = 100 + 20 * floor(3 / 3)


def test_all_3x3_drops_the_1x1_branch():
    spec = generate(TINY32.replace(pct_3x3=1.0))
    assert all(f.expand1x1 == 0 for f in spec.fires)
    model = FireNet(spec)
    assert model.features.fire2.expand1x1 is None
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_zero_squeeze_filters_is_refused_with_the_fix():
    with pytest.raises(SpecError, match=r"fire2: squeeze ratio 0.01 x 16 expand filters gives a squeeze layer of 0 filters; raise sr"):
        generate(TINY32.replace(base_e=16, sr=0.01))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"num_fires": 0}, "num_fires must be a positive integer, not 0"),
        ({"pct_3x3": 1.5}, r"pct_3x3 must be in \[0, 1\], not 1.5"),
        ({"sr": 0.0}, "sr \\(squeeze ratio\\) must be positive"),
        ({"downsample_before": (9,)}, "downsample_before: 9 is not a fire index in 0..4"),
        ({"bypass": "sideways"}, "'sideways' is not a valid Bypass"),
    ],
)
def test_invalid_metaparameters_name_the_problem(changes, message):
    with pytest.raises((SpecError, ValueError), match=message):
        TINY32.replace(**changes)


def test_input_too_small_for_the_downsampling():
    with pytest.raises(SpecError, match="input 4x4 shrinks to nothing after body item"):
        generate(TINY32.replace(input_size=4))


def test_hardware_ready_replaces_pools_by_strided_squeeze():
    spec = generate(SQUEEZENET1_1.replace(hardware_ready=True, input_size=256))
    assert spec.hardware_ready and not any(isinstance(item, PoolSpec) for item in spec.body)
    strided = [i for i, f in enumerate(spec.fires) if f.squeeze_stride == 2]
    assert strided == [0, 2, 4]  # v1.1 pools after conv1, fire3, fire5
    assert all(spec.fires[i].squeeze_kernel == 3 for i in strided)
    assert spec.stem == ConvSpec(64, 3, 2, 1)
    assert spec.feature_sizes() == [128, 64, 64, 32, 32, 16, 16, 16, 16]


def test_hardware_ready_shrinks_a_large_stem_to_3x3():
    released, hw = generate(SQUEEZENET1_0), generate(SQUEEZENET1_0.replace(hardware_ready=True))
    assert not released.hardware_ready and released.stem.kernel == 7
    assert hw.stem.kernel == 3 and hw.classifier.padding == 0


def test_hardware_ready_refuses_a_pool_after_the_last_fire():
    with pytest.raises(SpecError, match="downsampling after the last fire cannot become a strided squeeze"):
        generate(TINY32.replace(downsample_before=(1, 4), hardware_ready=True))


def test_pow2_channels_rounds_up():
    spec = generate(SQUEEZENET1_1.replace(pow2_channels=True))
    assert [(f.squeeze, f.expand1x1) for f in spec.fires[4:6]] == [(64, 256), (64, 256)]  # 48 -> 64, 192 -> 256
    assert all(n & (n - 1) == 0 for f in spec.fires for n in (f.squeeze, f.expand1x1, f.expand3x3))


def test_simple_bypass_goes_around_fires_whose_shapes_match():
    model = FireNet(generate(SQUEEZENET1_0.replace(bypass=Bypass.SIMPLE)))
    with_bypass = [name for name, m in model.features.named_children() if getattr(m, "bypass", None) is not None]
    assert with_bypass == ["fire3", "fire5", "fire7", "fire9"]  # as in the SqueezeNet paper


def _bypasses(meta):
    model = FireNet(generate(meta))
    out = {}
    for name, m in model.features.named_children():
        if name.startswith("fire"):
            b = m.bypass
            out[name] = "identity" if isinstance(b, torch.nn.Identity) else f"conv/{b.stride[0]}"
    assert model(torch.randn(3, 1, 32, 32)).shape == (3, 10)
    return out


def test_complex_bypass_adds_1x1_convs_where_shapes_differ_and_strides_them():
    assert _bypasses(TINY32.replace(bypass="complex")) == {
        "fire2": "conv/1", "fire3": "identity", "fire4": "conv/1", "fire5": "identity"}
    # hardware-ready: fire3 and fire5 downsample in the squeeze, so their shortcut must too
    assert _bypasses(TINY32.replace(bypass="complex", hardware_ready=True)) == {
        "fire2": "conv/1", "fire3": "conv/2", "fire4": "conv/1", "fire5": "conv/2"}


def test_bypass_adds_the_input():
    fire_spec = FireSpec(squeeze=4, expand1x1=4, expand3x3=4, bypass="simple")
    fire = Fire(8, fire_spec, batch_norm=False).eval()
    x = torch.randn(2, 8, 5, 5)
    plain = torch.cat([fire.expand1x1(fire.squeeze(x)), fire.expand3x3(fire.squeeze(x))], 1)
    assert torch.equal(fire(x), plain + x)


def test_spec_round_trips_through_a_dict():
    import json

    from firebrick.models.spec import NetSpec

    spec = generate(SQUEEZENET1_0.replace(bypass="complex", batch_norm=True))
    again = NetSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_torch_fx_traces_every_form():
    """The quantization front end lowers through torch.fx: it must trace fires, bypasses and pools."""
    from torch.fx import symbolic_trace

    for meta in (TINY32, TINY32.replace(hardware_ready=True, bypass="complex")):
        model = FireNet(generate(meta)).eval()
        traced = symbolic_trace(model)
        x = torch.randn(2, 1, 32, 32)
        assert torch.equal(traced(x), model(x))
