"""Codebook weight sharing: 1-D k-means from a linear init, pruning."""

import numpy as np
import pytest

from firebrick.quant.codebook import cluster_weights, kmeans_1d, prune_mask
from firebrick.quant.fixed_point import QuantizationError


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(c, 0.01, 200) for c in (-1.0, 0.0, 0.5, 2.0)])
    centroids, assign = kmeans_1d(values, 4)
    np.testing.assert_allclose(centroids, [-1.0, 0.0, 0.5, 2.0], atol=0.01)
    assert np.array_equal(np.bincount(assign), [200, 200, 200, 200])


def test_kmeans_never_loses_the_extremes_it_started_from():
    values = np.array([-3.0, 0.0, 0.01, 0.02, 0.03, 5.0])
    centroids, assign = kmeans_1d(values, 4)
    assert centroids[0] == -3.0 and centroids[-1] == 5.0  # linear init keeps rare large weights
    assert np.allclose(centroids[assign], values, atol=0.02)


def test_cluster_weights_shapes_and_sizes():
    w = np.random.default_rng(1).normal(0, 1, (8, 4, 3, 3))
    codebook, indices = cluster_weights(w, 3)
    assert codebook.shape == (8,) and indices.shape == w.shape and indices.dtype == np.uint8
    assert indices.max() < 8
    assert np.abs(codebook[indices] - w).mean() < 0.2


def test_pruning_pins_entry_zero():
    w = np.random.default_rng(2).normal(0, 1, 1000)
    codebook, indices = cluster_weights(w, 4, prune=0.5)
    assert codebook[0] == 0.0
    assert np.count_nonzero(indices == 0) == 500
    assert np.all(np.abs(w[indices == 0]) <= np.abs(w[indices != 0]).min())


def test_prune_mask_fraction_and_errors():
    w = np.arange(1, 101, dtype=float)
    assert prune_mask(w, 0.3).sum() == 70
    with pytest.raises(QuantizationError, match=r"prune fraction must be in \[0, 1\)"):
        prune_mask(w, 1.0)


def test_codebook_bits_are_checked():
    with pytest.raises(QuantizationError, match="codebook bits must be an integer in 2..8, not 9"):
        cluster_weights(np.zeros(4), 9)
