"""Quantization-aware fine-tuning wins accuracy back and keeps the graph's formats and sharing."""

import numpy as np

from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import load_dataset
from firebrick.quant.calibrate import calibrate
from firebrick.quant.finetune import FinetuneConfig, finetune
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.ops import Conv
from firebrick.quant.passes import canonicalize
from firebrick.quant.pipeline import graph_accuracy
from firebrick.quant.quantize import QuantConfig, quantize_graph


def test_finetuning_a_2_bit_codebook(tiny_checkpoint):
    data = load_dataset("digits", channels=1, size=8)
    graph = canonicalize(lower_torch(load_checkpoint(tiny_checkpoint).build_model(), (1, 8, 8)))
    q = quantize_graph(graph, calibrate(graph, data.tensors("train")[0][:128]), QuantConfig(codebook_bits=2))
    tuned = finetune(q, data, FinetuneConfig(epochs=3), progress=False)
    before, after = graph_accuracy(q, data, "val"), graph_accuracy(tuned, data, "val")
    assert after > before + 0.05, (before, after)
    for name, op in q.items():
        if isinstance(op, Conv):
            new = tuned.op(name).quant
            assert (new.in_fmt, new.weight_fmt, new.out_fmt, new.shift) == (op.quant.in_fmt, op.quant.weight_fmt, op.quant.out_fmt, op.quant.shift)
            assert np.array_equal(new.indices, op.quant.indices)
            assert np.array_equal(new.weight, new.codebook[new.indices.astype(np.int64)])
    assert tuned.meta["finetune"]["epochs"] == 3
