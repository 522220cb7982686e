"""The content-addressed cache of compiled Verilator models: keys, complete-only entries, stripping, eviction."""

import os

import pytest

from firebrick.sim import model_cache
from firebrick.sim.model_cache import cached_model, model_key


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FIREBRICK_SIM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_key_is_the_verilogs_content_and_what_the_build_depends_on(tmp_path, monkeypatch):
    a, b = tmp_path / "a" / "accelerator.v", tmp_path / "b" / "accelerator.v"
    for path in (a, b):
        path.parent.mkdir()
        path.write_text("module accelerator(clk); input clk; endmodule\n")
    key = model_key([a], "accelerator", waves=False, build_args=["-O3"])
    assert model_key([b], "accelerator", waves=False, build_args=["-O3"]) == key  # another folder, the same bytes
    assert model_key([a], "accelerator", waves=True, build_args=["-O3"]) != key
    assert model_key([a], "accelerator", waves=False, build_args=["-O2"]) != key
    assert model_key([a], "other", waves=False, build_args=["-O3"]) != key
    assert model_key([b, a], "accelerator", waves=False, build_args=["-O3"]) != key  # a wrapper or a config file
    # another cocotb installation (a virtual environment elsewhere): the executable links its libraries by path
    import cocotb_tools.config

    monkeypatch.setattr(cocotb_tools.config, "libs_dir", str(tmp_path / "elsewhere" / "cocotb" / "libs"))
    assert model_key([a], "accelerator", waves=False, build_args=["-O3"]) != key
    monkeypatch.undo()
    b.write_text("module accelerator(clk); input clk; wire w; endmodule\n")
    assert model_key([b], "accelerator", waves=False, build_args=["-O3"]) != key


def _build(directory):
    for name in ("accelerator", "Vtop.mk", "Vtop__ALL.a", "Vtop.o", "Vtop__pch.h.fast.gch", "Vtop.d"):
        (directory / name).write_text(name)


def test_an_entry_is_built_once_stripped_and_then_reused(cache):
    with cached_model("k1") as entry:
        assert not entry.ready and list(entry.directory.iterdir()) == []
        _build(entry.directory)
        entry.built()
    with cached_model("k1") as again:
        assert again.ready and again.directory == entry.directory
        assert sorted(p.name for p in again.directory.iterdir()) == ["Vtop.mk", "accelerator", "complete"]


def test_a_failed_build_leaves_no_entry_to_reuse(cache):
    with pytest.raises(RuntimeError):
        with cached_model("k2") as entry:
            _build(entry.directory)
            raise RuntimeError("make failed")
    with cached_model("k2") as again:
        assert not again.ready and list(again.directory.iterdir()) == []  # emptied for the new build


def test_the_least_recently_used_entries_go_except_one_in_use(cache, monkeypatch):
    monkeypatch.setattr(model_cache, "KEEP", 2)
    for i, key in enumerate(("old", "middle", "new")):
        with cached_model(key) as entry:
            _build(entry.directory)
            entry.built()
        os.utime(entry.directory, (1_000 + i, 1_000 + i))
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == ["middle", "new"]  # "old" went after "new"
    with cached_model("middle") as in_use:  # touched: now the newest; held (shared) while it runs
        for key in ("a", "b"):
            with cached_model(key) as entry:
                entry.built()
        assert (in_use.directory / "complete").is_file()  # not evicted while in use, though beyond KEEP
    assert {"a", "b"} <= {p.name for p in cache.iterdir() if p.is_dir()}
