"""Datasets without download: digits, MNIST, image folders; fitting and deterministic splits."""

import numpy as np
import pytest
from PIL import Image

from firebrick.errors import DatasetError, UnknownNameError
from firebrick.models.datasets import fit_images, load_dataset, stratified_split


def _check_split(dataset):
    parts = [set(dataset.splits[name].tolist()) for name in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(range(len(dataset.labels)))


def test_digits_at_native_size():
    ds = load_dataset("digits", channels=1, size=8)
    assert ds.images.shape == (1797, 1, 8, 8) and ds.images.dtype == np.float32
    assert ds.images.min() == 0.0 and ds.images.max() == 1.0
    assert ds.num_classes == 10
    _check_split(ds)
    test_labels = ds.labels[ds.splits["test"]]
    counts = np.bincount(test_labels, minlength=10)
    assert counts.min() >= 33 and counts.max() <= 38  # stratified: ~20 % of each ~180-image class
    assert len(ds.splits["test"]) == 359 and len(ds.splits["val"]) == 179


def test_digits_resized_to_the_model_input():
    ds = load_dataset("digits", channels=1, size=32)
    assert ds.images.shape == (1797, 1, 32, 32)
    assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0
    native = load_dataset("digits", channels=1, size=8)
    # bilinear upscaling keeps the mean brightness of each image
    np.testing.assert_allclose(ds.images.mean(axis=(1, 2, 3)), native.images.mean(axis=(1, 2, 3)), atol=0.02)


def test_mnist_is_shuffled_before_splitting():
    ds = load_dataset("mnist", channels=1, size=28)
    assert ds.images.shape == (5000, 1, 28, 28)
    _check_split(ds)
    for split in ("train", "val", "test"):
        assert np.bincount(ds.labels[ds.splits[split]], minlength=10).min() > 0
    assert len(ds.splits["test"]) == 1000


def test_splits_are_deterministic_and_follow_the_seed():
    labels = np.repeat(np.arange(5), 40)
    a, b, c = stratified_split(labels, 0), stratified_split(labels, 0), stratified_split(labels, 1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])


def test_fingerprint_changes_with_data_and_split():
    a = load_dataset("digits", channels=1, size=8)
    assert a.fingerprint() == load_dataset("digits", channels=1, size=8).fingerprint()
    assert a.fingerprint() != load_dataset("digits", channels=1, size=8, seed=1).fingerprint()
    assert a.fingerprint() != load_dataset("digits", channels=1, size=16).fingerprint()


def test_pad_centres_the_image():
    images = np.ones((2, 1, 28, 28), np.float32)
    out = fit_images(images, channels=1, size=32, fit="pad")
    assert out.shape == (2, 1, 32, 32)
    assert out[:, :, 2:30, 2:30].min() == 1.0 and out.sum() == 2 * 28 * 28


def test_pad_refuses_a_larger_image():
    with pytest.raises(DatasetError, match="do not fit a 8x8 input by padding"):
        fit_images(np.zeros((1, 1, 28, 28), np.float32), channels=1, size=8, fit="pad")


def test_channel_conversion():
    gray = np.full((1, 1, 4, 4), 0.5, np.float32)
    assert np.all(fit_images(gray, channels=3, size=4) == 0.5)
    rgb = np.zeros((1, 3, 4, 4), np.float32)
    rgb[:, 1] = 1.0  # pure green
    np.testing.assert_allclose(fit_images(rgb, channels=1, size=4), 0.587, rtol=1e-6)


def _write_folder(root, sizes_per_class):
    rng = np.random.default_rng(0)
    for cls, sizes in sizes_per_class.items():
        (root / cls).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")


def test_image_folder(tmp_path):
    _write_folder(tmp_path, {"cat": [(20, 30)] * 6, "dog": [(40, 40)] * 4, "empty": []})
    (tmp_path / "notes.txt").write_text("not an image folder entry")
    ds = load_dataset(tmp_path, channels=3, size=16)
    assert ds.class_names == ("cat", "dog")  # the empty class folder is skipped
    assert ds.images.shape == (10, 3, 16, 16)
    assert list(np.bincount(ds.labels)) == [6, 4]
    gray = load_dataset(tmp_path, channels=1, size=8)
    assert gray.images.shape == (10, 1, 8, 8)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "missing", channels=1, size=8)
    with pytest.raises(DatasetError, match="no images found in .*one sub-folder per class"):
        load_dataset(tmp_path, channels=1, size=8)
    _write_folder(tmp_path / "one", {"only": [(8, 8)] * 3})
    with pytest.raises(DatasetError, match="only one class"):
        load_dataset(tmp_path / "one", channels=1, size=8)
    _write_folder(tmp_path / "bad", {"a": [(8, 8)], "b": [(8, 8)]})
    (tmp_path / "bad" / "b" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"cannot read image .*broken\.png"):
        load_dataset(tmp_path / "bad", channels=1, size=8)


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(UnknownNameError, match="unknown dataset 'cifar': use digits or mnist, or the path of an image folder"):
        load_dataset("cifar", channels=1, size=8)
