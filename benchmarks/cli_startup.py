"""How long `firebrick --help` takes, against a bare `python -c pass` on the same machine, side by side.

    python benchmarks/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def seconds(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    firebrick = str(Path(sys.executable).with_name("firebrick"))
    bare, helps = [], []
    for _ in range(args.runs):  # alternating, so that machine noise hits both alike
        bare.append(seconds([sys.executable, "-c", "pass"]))
        helps.append(seconds([firebrick, "--help"]))
    b, h = statistics.median(bare), statistics.median(helps)
    print(f"python -c pass: {b * 1e3:.0f} ms, firebrick --help: {h * 1e3:.0f} ms (medians of {args.runs}); ratio {h / b:.1f}x")


if __name__ == "__main__":
    main()
