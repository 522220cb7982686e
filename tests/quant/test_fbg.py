"""The graph file: exact round trip, versioning, clear errors for corrupted and foreign files."""

import json
import zipfile

import numpy as np
import pytest

from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import load_dataset
from firebrick.quant.calibrate import calibrate
from firebrick.quant.executor import quantize_images, run_int
from firebrick.quant.fbg import GraphFileError, load_graph, save_graph
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.ops import Conv
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph


@pytest.fixture(scope="module")
def quantized(tiny_checkpoint):
    graph = canonicalize(lower_torch(load_checkpoint(tiny_checkpoint).build_model(), (1, 8, 8)))
    images = load_dataset("digits", channels=1, size=8).tensors("test")[0][:32].numpy()
    q = quantize_graph(graph, calibrate(graph, images), QuantConfig(codebook_bits=4))
    q.meta["note"] = {"nested": [1, 2]}
    return q, images


def test_round_trip_is_exact(quantized, tmp_path):
    graph, images = quantized
    save_graph(graph, tmp_path / "m.fbg")
    loaded = load_graph(tmp_path / "m.fbg")
    assert loaded.nodes() == graph.nodes() and loaded.output == graph.output and loaded.meta == graph.meta
    for name in graph.nodes():
        assert loaded.inputs(name) == graph.inputs(name)
        a, b = graph.op(name), loaded.op(name)
        assert type(a) is type(b)
        if isinstance(a, Conv):
            for field in ("weight", "bias"):
                assert np.array_equal(getattr(a, field), getattr(b, field))
            for field in ("weight", "bias", "codebook", "indices"):
                assert np.array_equal(getattr(a.quant, field), getattr(b.quant, field))
            assert (a.quant.in_fmt, a.quant.weight_fmt, a.quant.out_fmt, a.quant.shift) == (b.quant.in_fmt, b.quant.weight_fmt, b.quant.out_fmt, b.quant.shift)
        else:
            assert a == b
    x = quantize_images(graph, images)
    assert np.array_equal(run_int(graph, x)[graph.output], run_int(loaded, x)[loaded.output])


def test_missing_corrupted_and_foreign_files(quantized, tmp_path):
    graph, _ = quantized
    with pytest.raises(GraphFileError, match="does not exist; make one with `firebrick quantize`"):
        load_graph(tmp_path / "none.fbg")
    path = tmp_path / "m.fbg"
    save_graph(graph, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GraphFileError, match="not a readable graph file"):
        load_graph(path)
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(GraphFileError, match="is not a firebrick graph"):
        load_graph(tmp_path / "other.npz")
    (tmp_path / "text.fbg").write_text("hello")
    with pytest.raises(GraphFileError, match="not a readable graph file"):
        load_graph(tmp_path / "text.fbg")


def _rewrite_header(path, change):
    with np.load(path) as npz:
        members = {k: npz[k] for k in npz.files}
    document = json.loads(members["__graph__"].tobytes())
    change(document)
    members["__graph__"] = np.frombuffer(json.dumps(document).encode(), np.uint8)
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to a path
        np.savez(f, **members)


def test_newer_version_and_damaged_structure(quantized, tmp_path):
    graph, _ = quantized
    path = tmp_path / "m.fbg"
    save_graph(graph, path)
    _rewrite_header(path, lambda d: d.update(version=7))
    with pytest.raises(GraphFileError, match="graph format version 7; this firebrick reads up to 1, upgrade"):
        load_graph(path)
    save_graph(graph, path)
    _rewrite_header(path, lambda d: d["nodes"][3].update(inputs=["nowhere"]))
    with pytest.raises(GraphFileError, match="is corrupted"):
        load_graph(path)


def test_save_is_atomic(quantized, tmp_path, monkeypatch):
    graph, _ = quantized
    path = tmp_path / "m.fbg"
    save_graph(graph, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(OSError):
        save_graph(graph, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.fbg"]
    assert zipfile.is_zipfile(path)
