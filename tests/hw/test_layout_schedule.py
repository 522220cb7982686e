"""Memory layout (conflict-free banking, liveness reuse) and the static schedule."""

import math

import numpy as np
import pytest

from firebrick.hw.layout import plan_layouts, storage_owner
from firebrick.hw.params import ArrayParams
from firebrick.hw.latency import SETUP_CYCLES, prefetch_cycles
from firebrick.hw.schedule import conv_drain_cycles, network_utilization, plan_schedule
from firebrick.models.design_space import generate
from firebrick.models.firenet import FireNet
from firebrick.models.zoo import TINY32, build_model, model_spec
from firebrick.quant.analyses import infer_shapes
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.ops import Conv
from firebrick.quant.passes import canonicalize


def graph_of(name_or_meta):
    if isinstance(name_or_meta, str):
        spec = model_spec(name_or_meta)
        model = build_model(name_or_meta)
    else:
        model = FireNet(generate(name_or_meta))
        spec = model.spec
    return canonicalize(lower_torch(model, (spec.input_channels, spec.input_size, spec.input_size)))


def _banks_distinct(addresses, banks):
    return len(set((addresses % banks).tolist())) == len(addresses)


@pytest.mark.parametrize("size", [4, 8, 16])
@pytest.mark.parametrize("model", ["squeezenet_tiny32_hw", "squeezenet_tiny28_hw", "squeezenet_tiny8_hw"])
def test_every_conv_read_and_write_is_bank_conflict_free(model, size):
    graph = graph_of(model)
    params = ArrayParams(rows=size, cols=size)
    plan = plan_layouts(graph, params)
    shapes = infer_shapes(graph)
    for name, op in graph.items():
        if not isinstance(op, Conv):
            continue
        source = graph.inputs(name)[0]
        layout = plan.layouts[plan.destinations[source][0]]
        channel_offset = plan.destinations[source][1]
        _, h_out, w_out = shapes[name]
        pixels = np.arange(h_out * w_out)
        for start in range(0, len(pixels), size):
            tile = pixels[start : start + size]
            oy, ox = tile // w_out, tile % w_out
            for dy in range(op.kernel):
                for dx in range(op.kernel):
                    iy, ix = oy * op.stride + dy - op.padding, ox * op.stride + dx - op.padding
                    inside = (iy >= 0) & (iy < layout.height) & (ix >= 0) & (ix < layout.width)
                    addresses = layout.address(channel_offset + 1, iy[inside], ix[inside])
                    assert _banks_distinct(addresses, plan.banks), (name, start, dy, dx)
        # writes: one channel of `size` consecutive output pixels at a time
        out_tensor, offset = plan.destinations[name]
        out = plan.layouts[out_tensor]
        for start in range(0, len(pixels), size):
            tile = pixels[start : start + size]
            assert _banks_distinct(out.address(offset, tile // w_out, tile % w_out), plan.banks)


def test_tensors_that_live_together_never_overlap_and_dead_ones_are_reused():
    graph = graph_of("squeezenet_tiny32_hw")
    plan = plan_layouts(graph, ArrayParams())
    layouts = list(plan.layouts.values())
    assert sum(l.size for l in layouts) > plan.words  # memory is reused
    # the input image is dead once conv1 has read it, so a later tensor may take its place...
    assert any(l.base == plan.layouts["input"].base for l in layouts if l.node not in ("input", "conv1"))
    # ...but conv1's output and its reader's output (alive together) may not overlap
    a, b = plan.layouts["conv1"], plan.layouts["fire2.squeeze"]
    assert a.base + a.size <= b.base or b.base + b.size <= a.base
    assert all(l.base % plan.banks == 0 and l.plane % plan.banks == 0 for l in layouts)


def test_the_live_set_per_node_bounds_the_plan_and_names_its_tensors():
    graph = graph_of("squeezenet_tiny32_hw")
    plan = plan_layouts(graph, ArrayParams())
    live = {node: (words, tensors) for node, words, tensors in plan.live_words(graph)}
    size = {t: l.size for t, l in plan.layouts.items()}
    # conv1 runs with the image (its input) and its own output live, nothing else
    assert live["conv1"] == (size["input"] + size["conv1"], ("input", "conv1"))
    # the image is dead once conv1 has read it; a squeeze runs with its input and its output
    assert "input" not in live["fire2.squeeze"][1] and set(live["fire2.squeeze"][1]) == {"conv1", "fire2.squeeze"}
    # no two tensors live together overlap, so the planned words hold the peak live set
    assert max(words for words, _ in live.values()) <= plan.words


def test_concat_inputs_write_into_the_concat_at_channel_offsets():
    graph = graph_of("squeezenet_tiny32_hw")
    owner = storage_owner(graph)
    assert owner["fire2.expand1x1"] == ("fire2.concat", 0)
    assert owner["fire2.expand3x3"] == ("fire2.concat", 16)
    assert "pool10" not in owner  # the scores stream out


def test_conv_schedule_counts_tiles_and_steps():
    graph = graph_of("squeezenet_tiny32_hw")
    params = ArrayParams(rows=8, cols=8)
    plan = {s.node: s for s in plan_schedule(graph, params)}
    conv1 = plan["conv1"]  # 16 channels, 16x16 pixels, K = 9 (1 channel x 3x3)
    assert (conv1.channel_tiles, conv1.pixel_tiles, conv1.reduction, conv1.period) == (2, 32, 9, 9)
    # after the last tile: control 2 + fetch 6 + through the array 7 + 7 + PE 3 + drain 8 + write-back 6 + write 2, less one
    assert conv_drain_cycles(params, 9, 9) == 2 + 6 + 7 + 7 + 3 + 8 + 6 + 2 - 1 == 40
    assert conv1.cycles == SETUP_CYCLES + 2 * 32 * 9 + 40
    assert conv1.macs == 16 * 256 * 9
    squeeze = plan["fire2.squeeze"]  # K = 16 >= rows
    assert squeeze.period == 16 and squeeze.channel_tiles == 1
    e1 = plan["fire2.expand1x1"]  # K = 8 = rows: no wait
    assert e1.period == 8
    # the image's beats and three cycles for the last one to land, through the two control registers then
    # written (the load's set-up starts the frame, uncounted)
    assert plan["input"].kind == "load" and plan["input"].cycles == math.ceil(32 * 32 / 8) + 3


def test_a_step_lasts_at_least_the_prefetch_of_the_next(small_graph):
    params = ArrayParams(rows=2, cols=16)
    plan = plan_schedule(small_graph, params)
    # the 8x8 image is 4 beats on 16 lanes: the load is over before the walkers have the first conv's starts
    assert plan[0].kind == "load" and plan[0].cycles == prefetch_cycles(16) - SETUP_CYCLES
    assert all(s.cycles >= prefetch_cycles(16) for s in plan[1:-1])


def test_utilization_of_the_default_model_on_8x8_is_above_90_percent():
    graph = graph_of("squeezenet_tiny32_hw")
    params = ArrayParams(rows=8, cols=8)
    plan = plan_schedule(graph, params)
    assert network_utilization(plan, params) > 0.9
    assert sum(s.macs for s in plan) == 1_226_752


def test_short_reductions_wait_for_the_drain():
    meta = TINY32.replace(hardware_ready=True, base_e=8, incr_e=0, sr=0.5)  # squeeze 4 -> expand1x1 K = 4
    graph = graph_of(meta)
    params = ArrayParams(rows=8, cols=8)
    e1 = {s.node: s for s in plan_schedule(graph, params)}["fire2.expand1x1"]
    assert e1.reduction == 4 and e1.period == 8
