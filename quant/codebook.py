"""Deep-Compression-style weight sharing: per layer 2**k centroids by 1-D k-means.

Linear initialisation (centroids evenly spaced between min and max weight) is
what Han et al. found best: it keeps the rare large weights, which matter most.
With magnitude pruning, one codebook entry is pinned at 0 for the pruned weights.
"""

from __future__ import annotations

import numpy as np

from firebrick.quant.fixed_point import QuantizationError

MIN_CODEBOOK_BITS, MAX_CODEBOOK_BITS = 2, 8


def check_codebook_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not MIN_CODEBOOK_BITS <= bits <= MAX_CODEBOOK_BITS:
        raise QuantizationError(f"codebook bits must be an integer in {MIN_CODEBOOK_BITS}..{MAX_CODEBOOK_BITS}, not {bits!r}")
    return bits


def kmeans_1d(values: np.ndarray, k: int, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm on scalars from a linear init; returns (sorted centroids (k,), assignment per value)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        return np.zeros(k), np.zeros(0, np.int64)
    centroids = np.linspace(values.min(), values.max(), k)
    assign = np.zeros(values.size, np.int64)
    for _ in range(iterations):
        # nearest centroid of sorted centroids = bucket between midpoints
        assign = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)
        sums = np.bincount(assign, weights=values, minlength=k)
        counts = np.bincount(assign, minlength=k)
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)  # empty clusters stay put
        if np.allclose(updated, centroids, rtol=0, atol=1e-12):
            break
        centroids = np.sort(updated)
    assign = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)
    return centroids, assign


def prune_mask(weights: np.ndarray, fraction: float) -> np.ndarray:
    """True for weights kept: all but the `fraction` of smallest magnitude."""
    if not 0.0 <= fraction < 1.0:
        raise QuantizationError(f"prune fraction must be in [0, 1), not {fraction!r}")
    if fraction == 0.0:
        return np.ones(weights.shape, bool)
    threshold = np.quantile(np.abs(weights), fraction)
    return np.abs(weights) > threshold


def cluster_weights(weights: np.ndarray, bits: int, prune: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(float codebook (2**bits,), indices shaped like weights); index 0 is 0.0 when pruning."""
    check_codebook_bits(bits)
    k = 1 << bits
    flat = weights.astype(np.float64).ravel()
    keep = prune_mask(flat, prune)
    indices = np.zeros(flat.size, np.int64)
    if prune > 0.0:
        centroids, assign = kmeans_1d(flat[keep], k - 1)
        codebook = np.concatenate([[0.0], centroids])
        indices[keep] = assign + 1
    else:
        codebook, indices = kmeans_1d(flat, k)
    return codebook, indices.reshape(weights.shape).astype(np.uint8 if bits <= 8 else np.int64)
