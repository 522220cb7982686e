"""The whole accelerator, one frame in Amaranth's simulator, against the golden executor on every layer."""

import numpy as np
import pytest
import torch

from firebrick.hw.block_ram import LargeRam
from firebrick.hw.compiler import compile_graph
from firebrick.hw.latency import WRITE_LATENCY
from firebrick.hw.params import ArrayParams, HardwareParamError
from firebrick.hw.program import StepKind
from firebrick.hw.schedule import predict_activity
from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import load_dataset
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import model_spec
from firebrick.quant.analyses import macs_per_layer
from firebrick.quant.calibrate import calibrate
from firebrick.quant.executor import quantize_images, run_int
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph
from firebrick.sim.amaranth_frame import run_frame
from firebrick.sim.compare import first_mismatch


def check_frame(graph, params, image):
    program = compile_graph(graph, params)
    golden = run_int(graph, image[None], keep_all=True)
    result = run_frame(program, image)
    mismatch = first_mismatch({k: v[0] for k, v in golden.items()}, result.layers, graph.nodes())
    assert mismatch is None, str(mismatch)
    assert result.scores == golden[graph.output].ravel().tolist()
    assert not result.conflict and not result.overrun
    assert set(result.layers) == {s.node for s in program.steps if s.kind == StepKind.CONV}
    assert result.counters == predict_activity(graph, params)  # the activity model is exact
    # every step ends exactly when its last write has landed: the drains are neither short nor long
    ends = [(node, last, end) for node, last, end in result.step_ends if last is not None]
    assert ends and all(end == last + WRITE_LATENCY for _, last, end in ends), ends
    return program, result


def test_trained_digits_model_on_a_4x4_array(tiny_checkpoint):
    data = load_dataset("digits", channels=1, size=8)
    graph = canonicalize(lower_torch(load_checkpoint(tiny_checkpoint).build_model(), (1, 8, 8)))
    graph = quantize_graph(graph, calibrate(graph, data.tensors("train")[0][:128]), QuantConfig())
    image = quantize_images(graph, data.tensors("test")[0][:1].numpy())[0]
    params = ArrayParams(rows=4, cols=4)
    program, result = check_frame(graph, params, image)
    # the cycle counter equals the static schedule, and the MAC counter the network's MACs minus padding
    assert result.counters["cycles"] == sum(s.cycles for s in program.schedule)
    assert result.counters["mac_ops"] <= sum(macs_per_layer(graph).values())
    assert result.counters["weight_reads"] == sum(s.channel_tiles * s.pixel_tiles * s.reduction for s in program.schedule if s.kind == "conv")
    assert result.counters["stall_cycles"] == 0


def test_odd_sizes_and_stride_2_on_an_8x8_array():
    """28 -> 14 -> 7 -> 4: stride 2 over odd maps, padding at every border, random weights."""
    torch.manual_seed(3)
    spec = model_spec("squeezenet_tiny28_hw")
    model = FireNet(spec).eval()
    graph = canonicalize(lower_torch(model, (1, 28, 28)))
    images = torch.rand(32, 1, 28, 28)
    graph = quantize_graph(graph, calibrate(graph, images), QuantConfig(weight_bits=6))
    image = quantize_images(graph, images[:1].numpy())[0]
    program, result = check_frame(graph, ArrayParams(rows=8, cols=8), image)
    assert result.counters["cycles"] == sum(s.cycles for s in program.schedule)


@pytest.mark.parametrize("bypass", ["simple", "complex"])
def test_bypass_adds_on_a_4x4_array(bypass):
    from firebrick.models.design_space import generate
    from firebrick.models.zoo import TINY8

    torch.manual_seed(5)
    meta = TINY8.replace(hardware_ready=True, bypass=bypass, downsample_before=(2,), base_e=16, incr_e=16)
    model = FireNet(generate(meta)).eval()
    graph = canonicalize(lower_torch(model, (1, 8, 8)))
    assert any(name.endswith(".add") for name in graph.nodes())
    images = torch.rand(32, 1, 8, 8)
    graph = quantize_graph(graph, calibrate(graph, images), QuantConfig())
    program, result = check_frame(graph, ArrayParams(rows=4, cols=4), quantize_images(graph, images[:1].numpy())[0])
    assert result.counters["cycles"] == sum(s.cycles for s in program.schedule)


def test_codebook_weights_decode_through_the_table(tiny_checkpoint):
    data = load_dataset("digits", channels=1, size=8)
    graph = canonicalize(lower_torch(load_checkpoint(tiny_checkpoint).build_model(), (1, 8, 8)))
    graph = quantize_graph(graph, calibrate(graph, data.tensors("train")[0][:64]), QuantConfig(codebook_bits=3))
    program, result = check_frame(graph, ArrayParams(rows=4, cols=4), quantize_images(graph, data.tensors("test")[0][1:2].numpy())[0])
    assert program.codebook_bits == 3 and len(program.codebooks) == 8 * 14
    assert result.counters["cycles"] == sum(s.cycles for s in program.schedule)


def test_a_corrupted_weight_is_reported_by_layer_channel_and_pixel(tiny_checkpoint):
    data = load_dataset("digits", channels=1, size=8)
    graph = canonicalize(lower_torch(load_checkpoint(tiny_checkpoint).build_model(), (1, 8, 8)))
    graph = quantize_graph(graph, calibrate(graph, data.tensors("train")[0][:64]), QuantConfig())
    image = quantize_images(graph, data.tensors("test")[:1][0].numpy())[0]
    program = compile_graph(graph, ArrayParams(rows=4, cols=4))
    step = next(s for s in program.steps if s.node == "fire3.expand3x3")
    program.weights[step.weight_base, 1] += 40  # channel 1 of the layer, first reduction step
    result = run_frame(program, image)
    golden = run_int(graph, image[None], keep_all=True)
    mismatch = first_mismatch({k: v[0] for k, v in golden.items()}, result.layers, graph.nodes())
    assert mismatch is not None and mismatch.layer == "fire3.expand3x3" and mismatch.channel == 1
    assert "layer 'fire3.expand3x3' channel 1 pixel (y=" in str(mismatch)


def test_compiler_refuses_what_the_rtl_cannot_run(tiny_checkpoint):
    from firebrick.models.design_space import generate
    from firebrick.models.zoo import TINY8

    model = FireNet(generate(TINY8.replace(hardware_ready=True, bypass="simple", downsample_before=(2,)))).eval()
    graph = canonicalize(lower_torch(model, (1, 8, 8)))
    graph = quantize_graph(graph, calibrate(graph, torch.rand(8, 1, 8, 8)), QuantConfig())
    with pytest.raises(HardwareParamError, match="array cols must be a power of two"):
        compile_graph(graph, ArrayParams(rows=4, cols=6))
    data = load_dataset("digits", channels=1, size=8)
    plain = canonicalize(lower_torch(load_checkpoint(tiny_checkpoint).build_model(), (1, 8, 8)))
    wide = quantize_graph(plain, calibrate(plain, data.tensors("train")[0][:32]), QuantConfig(weight_bits=12, acc_bits=32))
    with pytest.raises(HardwareParamError, match="has 12-bit weights; the array multiplies 8-bit weights"):
        compile_graph(wide, ArrayParams(rows=4, cols=4))


def test_steps_shorter_than_the_prefetch_wait_for_the_next_steps_lane_starts(small_graph):
    """16 lanes on 8x8 maps: the image is 4 beats, over before the lane walkers have found conv1's starts."""
    from firebrick.hw.latency import prefetch_cycles

    params = ArrayParams(rows=2, cols=16)
    image = quantize_images(small_graph, np.random.default_rng(1).random((1, 1, 8, 8)).astype(np.float32))[0]
    program, result = check_frame(small_graph, params, image)
    assert program.schedule[0].cycles + 1 == prefetch_cycles(16)  # the load (and its uncounted set-up) waited
    assert result.counters["cycles"] == sum(s.cycles for s in program.schedule)


SINGLE_PORT_RAM = LargeRam(style="huge", block_depth=16384, banks=(("program", 1), ("weights", 1), ("biases", 1)),
                           single_port=True)


@pytest.mark.parametrize("large_ram", [None, SINGLE_PORT_RAM], ids=["block_ram", "single_port_ram"])
def test_two_models_loaded_one_after_the_other_run_bit_exact_and_no_frame_runs_before_a_load(small_graph, large_ram):
    """One accelerator built for run-time loading: no image beat is taken before a load; then the first model's
    load and frame, the second's (other weights and biases, the same envelope), each bit-exact on every layer.
    Also with the program, weights and biases in single-port RAM (iCE40 SPRAM: the loader's writes and the run's
    reads share one address), which the second load overwrites after the first frame read them."""
    import dataclasses

    from firebrick.hw.load_format import program_envelope
    from firebrick.quant.ops import Conv
    from firebrick.sim.amaranth_frame import run_frames

    other = small_graph.copy()
    for name in other.nodes():
        op = other.op(name)
        if isinstance(op, Conv):  # another model of the same shapes: negated weights, shifted biases
            q = op.quant
            weight = np.clip(-q.weight, q.weight_fmt.min_int, q.weight_fmt.max_int)
            other.set_op(name, dataclasses.replace(op, quant=dataclasses.replace(q, weight=weight, bias=q.bias + 3)))
    params = ArrayParams(rows=2, cols=2)
    first, second = compile_graph(small_graph, params), compile_graph(other, params)
    assert program_envelope(first) == program_envelope(second)
    assert not np.array_equal(first.weights, second.weights)
    rng = np.random.default_rng(5)
    fmt = small_graph.op(small_graph.input).fmt
    images = [rng.integers(max(fmt.min_int, 0), fmt.max_int + 1, size=small_graph.op(small_graph.input).shape) for _ in range(2)]
    results = run_frames([(first, images[0]), (second, images[1])], loadable=True, early_image_cycles=40,
                         large_ram=large_ram)
    assert not results[0].image_taken_before_load
    for graph, image, result in zip((small_graph, other), images, results):
        golden = run_int(graph, image[None], keep_all=True)
        mismatch = first_mismatch({k: v[0] for k, v in golden.items()}, result.layers, graph.nodes())
        assert mismatch is None, str(mismatch)
        assert result.scores == golden[graph.output].ravel().tolist()
        assert result.load_words and result.counters["cycles"] == sum(s.cycles for s in first.schedule)
    assert results[0].scores != results[1].scores


def test_one_accelerator_sized_for_two_architectures_runs_both_and_refuses_a_third(small_graph, other_small_graph,
                                                                                 medium_graph):
    """An envelope is a build parameter: memories and program fields as large as two models of different
    architectures need; each loads into it and runs bit-exact and cycle-exact; a model it cannot hold is refused
    with what does not fit."""
    from firebrick.hw.load_format import LoadFileError, envelope_shortfalls, envelope_union, load_stream, program_envelope
    from firebrick.sim.amaranth_frame import run_frames

    params = ArrayParams(rows=2, cols=2)
    small, other = compile_graph(small_graph, params), compile_graph(other_small_graph, params)
    assert len(small.steps) != len(other.steps) and len(small.weights) < len(other.weights)
    envelope = envelope_union([small, other])
    assert envelope.capacity["steps"] == max(len(small.steps), len(other.steps))
    assert envelope != program_envelope(small)  # the small model runs in memories and fields sized for the other
    assert envelope_shortfalls(small, envelope) == envelope_shortfalls(other, envelope) == []
    rng = np.random.default_rng(6)
    images = [rng.integers(0, 128, size=g.op(g.input).shape) for g in (small_graph, other_small_graph)]
    results = run_frames([(small, images[0]), (other, images[1])], loadable=True, envelope=envelope)
    for graph, program, image, result in zip((small_graph, other_small_graph), (small, other), images, results):
        golden = run_int(graph, image[None], keep_all=True)
        mismatch = first_mismatch({k: v[0] for k, v in golden.items()}, result.layers, graph.nodes())
        assert mismatch is None, str(mismatch)
        assert result.scores == golden[graph.output].ravel().tolist()
        assert result.counters["cycles"] == sum(s.cycles for s in program.schedule)
    medium = compile_graph(medium_graph, params)
    short = envelope_shortfalls(medium, envelope)
    assert any(s.startswith("weights memory: the model needs ") for s in short)
    with pytest.raises(LoadFileError, match=r"the model does not fit envelope [0-9a-f]{8} .*weights memory: the model needs"):
        load_stream(medium, envelope)


def test_the_activations_are_refused_in_single_port_ram(small_graph):
    from firebrick.hw.accelerator import Accelerator

    program = compile_graph(small_graph, ArrayParams(rows=2, cols=2))
    ram = LargeRam(style="huge", block_depth=16384, banks=(("activations", 1),), single_port=True)
    with pytest.raises(ValueError, match="activations: read and written in one cycle, they cannot go to single-port RAM"):
        Accelerator(program, loadable=True, large_ram=ram)
