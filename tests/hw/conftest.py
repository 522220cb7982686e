"""Shared by the hardware tests: a stand-in ECP5 platform, and Icarus runs of a primitive form beside the portable one."""

import subprocess

import pytest


class FakeEcp5:
    """What the components look at to choose their ECP5 primitives (`block_ram.is_ecp5`)."""

    family = "ecp5"


@pytest.fixture
def fake_ecp5():
    return FakeEcp5()


@pytest.fixture
def icarus_side_by_side(tmp_path):
    """Run `bench` (Verilog) on Icarus with `sources` ({file name: Verilog}) and `stimulus` in ops.hex (one hex
    value a line, read with $readmemh); returns the rows the bench $display-ed, split on spaces (lines that start
    with a digit: the cycle, then the values to compare)."""

    def run(sources: dict[str, str], bench: str, stimulus: list[int]) -> list[list[str]]:
        (tmp_path / "ops.hex").write_text("".join(f"{v:x}\n" for v in stimulus))
        files = {**sources, "bench.v": bench}
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        subprocess.run(["iverilog", "-g2012", "-o", "sim", *files], cwd=tmp_path, check=True)
        out = subprocess.run(["vvp", "sim"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
        return [line.split() for line in out.split("\n") if line and line[0].isdigit()]

    return run
