"""Issue targets on the default model: 8-bit DFP within 0.5 pp of float, 4-bit codebook within 1 pp (fine-tuned)."""

import numpy as np

from firebrick.quant.codebook import MAX_CODEBOOK_BITS
from firebrick.quant.ops import Conv
from firebrick.quant.pipeline import quantize_checkpoint
from firebrick.quant.quantize import QuantConfig


def test_8_bit_dynamic_fixed_point_loses_at_most_half_a_point(default_checkpoint):
    graph, report = quantize_checkpoint(default_checkpoint, QuantConfig())
    assert report.float_accuracy >= 0.98
    assert report.float_accuracy - report.quant_accuracy <= 0.005, report
    assert graph.meta["quant_accuracy"] == report.quant_accuracy


def test_4_bit_codebook_fine_tuned_loses_at_most_one_point(default_checkpoint):
    graph, report = quantize_checkpoint(default_checkpoint, QuantConfig(codebook_bits=4), finetune_epochs=5)
    assert report.float_accuracy - report.quant_accuracy <= 0.01, report
    for _, op in graph.items():
        if isinstance(op, Conv):  # fine-tuning moved centroids, not the sharing
            assert len(np.unique(op.quant.weight)) <= 16 and op.quant.codebook_bits == 4 < MAX_CODEBOOK_BITS
