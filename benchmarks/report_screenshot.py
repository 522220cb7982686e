"""A sweep report as a person sees it: run a sweep, render its report.html in headless Chromium, save a screenshot.

    python benchmarks/report_screenshot.py [--spec analytical_arrays] [-o firebrick-out/report-shot]

Writes OUT/sweep/report.html and OUT/report.png (the page at 1400 px wide) and
prints what it checked: the page drew (not blank), the table has one row per
point, and sorting by a column works in the browser (Chromium runs the page's
script, which clicks the energy column's head and records the order). Needs
Debian's `chromium` (`apt-get install chromium`); nothing is fetched, the report
is one self-contained file.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from firebrick.cli.explore_commands import spec_path
from firebrick.explore.report import write_report
from firebrick.explore.runner import run_sweep
from firebrick.explore.spec import load_spec

#: appended to a copy of the page: clicks a column's head, then writes the column's values into the title
SORT_PROBE = """<script>
window.addEventListener("load", () => {
  const heads = [...document.querySelectorAll("#points th")];
  const column = heads.findIndex(th => th.title === "energy_uj");
  heads[column].click();
  document.title = "sorted:" + [...document.querySelectorAll("#points tbody tr")].map(r => r.cells[column].dataset.sort).join(",");
});
</script>"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        sys.exit("Chromium is missing: apt-get install chromium")
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=300, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="analytical_arrays", help="a sweep spec or a shipped example (default analytical_arrays)")
    parser.add_argument("-o", "--output", default="firebrick-out/report-shot", help="output folder")
    args = parser.parse_args()
    out = Path(args.output).resolve()
    shutil.rmtree(out / "sweep", ignore_errors=True)
    began = time.perf_counter()
    run_sweep(out / "sweep", load_spec(spec_path(args.spec)), progress=False)
    summary = write_report(out / "sweep")
    print(f"sweep {args.spec}: {len(summary['points'])} points, report in {time.perf_counter() - began:.1f} s: {summary['html']}")

    shot = out / "report.png"
    chromium("--window-size=1400,3000", f"--screenshot={shot}", Path(summary["html"]).as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    drawn = float((pixels < 250).mean())  # the share of pixels that are not white page
    print(f"screenshot {shot}: {pixels.shape[1]}x{pixels.shape[0]} px, {drawn:.1%} drawn")
    if drawn < 0.05:
        sys.exit("the page drew (almost) nothing")

    probe = out / "sweep" / "report_sort_probe.html"
    probe.write_text(Path(summary["html"]).read_text().replace("</body>", SORT_PROBE + "</body>"))
    dom = chromium("--dump-dom", probe.as_uri()).stdout
    probe.unlink()
    rows = dom.count("<tr") - 1  # less the head
    title = re.search(r"<title>sorted:([^<]*)</title>", dom)
    if title is None:
        sys.exit("the page's script did not run")
    energies = [float(v) for v in title.group(1).split(",")]
    print(f"table: {rows} rows for {len(summary['points'])} points; sorted by energy in the browser: "
          f"{'ascending' if energies == sorted(energies) else 'NOT sorted'} ({energies[0]:.3g} .. {energies[-1]:.3g} µJ)")
    if rows != len(summary["points"]) or energies != sorted(energies):
        sys.exit("the table is wrong")


if __name__ == "__main__":
    main()
