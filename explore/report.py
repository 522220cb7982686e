"""A sweep's report: the Pareto front, plots (objective pairs, and each swept axis), one self-contained HTML file."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import matplotlib
import yaml

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from firebrick.atomic import save_figure, write_atomic  # noqa: E402
from firebrick.numbers import format_value  # noqa: E402
from firebrick.explore.pareto import pareto_front  # noqa: E402
from firebrick.explore.points import swept_axes  # noqa: E402
from firebrick.explore.runner import open_sweep  # noqa: E402

LABELS = {"accuracy": "top-1 accuracy (quantized, test split)", "energy_uj": "energy per frame (µJ)",
          "latency_us": "latency (µs)", "onchip_kib": "on-chip memory (KiB)", "params": "parameters",
          "macs": "MACs per frame", "dsps": "DSP blocks", "fps": "frames/s"}


def summarize(out_dir: str | Path) -> dict[str, Any]:
    """Every stored point with its figures, the Pareto front over the spec's objectives, and the failures."""
    store, spec = open_sweep(out_dir)
    try:
        rows = store.rows()
    finally:
        store.close()
    ok = [r for r in rows if r["status"] == "ok"]
    flat = [{**r["point"], **r["result"], "ordinal": r["ordinal"], "key": r["key"]} for r in ok]
    # a design the board cannot hold is no design: the front ranks only points that fit
    feasible = [i for i, row in enumerate(flat) if row.get("fits", True)]
    front = {feasible[j] for j in pareto_front([flat[i] for i in feasible], spec.objectives)}
    for i, row in enumerate(flat):
        row["on_front"] = i in front
    return {
        "spec": spec.to_dict(), "objectives": spec.objectives, "axes": swept_axes(spec), "points": flat,
        "front": sorted(flat[i]["ordinal"] for i in front), "ok": len(ok), "not_fitting": len(flat) - len(feasible), "failed": [
            {"ordinal": r["ordinal"], "point": r["point"], "error": r["error"]} for r in rows if r["status"] == "failed"],
    }


def _save(fig, ax, title: str, path: Path) -> Path:
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path, dpi=110)


def _pair_plot(summary: dict[str, Any], x: str, y: str, path: Path) -> Path:
    points = summary["points"]
    fig, ax = plt.subplots(figsize=(6, 5))
    fitting = [p for p in points if p.get("fits", True)]
    too_big = [p for p in points if not p.get("fits", True)]
    boards = sorted({p.get("board", "") for p in points})
    colours = dict(zip(boards, plt.cm.tab10.colors[1:])) if len(boards) > 1 else {boards[0]: "0.6"}
    for board in boards:
        mine = [p for p in fitting if p.get("board", "") == board]
        if mine:
            ax.scatter([p[x] for p in mine], [p[y] for p in mine], s=18, color=colours[board],
                       label=f"design points on {board}" if len(boards) > 1 else "design points")
    if too_big:
        ax.scatter([p[x] for p in too_big], [p[y] for p in too_big], s=22, marker="x", color="0.4", label="does not fit its board")
    front = sorted((p for p in points if p["on_front"]), key=lambda p: p[x])
    ax.scatter([p[x] for p in front], [p[y] for p in front], s=36, facecolors="none", edgecolors="tab:red", linewidths=1.5,
               label="Pareto front (all objectives)")
    for p in front[:20]:  # named, so a point read off the plot can be found in the table and built
        ax.annotate(f"#{p['ordinal']}", (p[x], p[y]), textcoords="offset points", xytext=(4, 4), fontsize=7, color="tab:red")
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel(LABELS.get(y, y))
    for name, scale in ((x, ax.set_xscale), (y, ax.set_yscale)):
        if name in ("energy_uj", "latency_us", "macs", "params") and min(p[name] for p in points) > 0:
            scale("log")  # these span decades across array sizes and boards
    # under the axes: inside, it hides points wherever the cloud spreads (and "best" cannot avoid them all)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return _save(fig, ax, f"{summary['spec']['name']}: {y} vs {x}", path)


def _axis_plot(summary: dict[str, Any], axis: str, path: Path) -> Path | None:
    points = [p for p in summary["points"] if isinstance(p.get(axis), (int, float)) and not isinstance(p.get(axis), bool)]
    if not points:
        return None
    values = sorted({p[axis] for p in points})
    fig, ax = plt.subplots(figsize=(6, 4.2))
    right = ax.twinx()
    if axis.startswith("hardware.") or not any(p.get("accuracy") is not None for p in points):
        # the model does not change along a hardware axis: show what does, energy and latency
        fitting = [p for p in points if p.get("fits", True)]  # the best a board can hold
        shown = sorted({p[axis] for p in fitting})
        for figure, where, colour, marker in (("energy_uj", ax, "tab:green", "o"), ("latency_us", right, "tab:purple", "s")):
            best = [min(p[figure] for p in fitting if p[axis] == v) for v in shown]
            where.plot(shown, best, marker=marker, color=colour, linestyle="-" if where is ax else "--", label=LABELS[figure])
            where.set_ylabel(f"{LABELS[figure]}, best that fits", color=colour)
        fig.legend(loc="upper right", fontsize=8, bbox_to_anchor=(0.88, 0.88))  # the two may coincide (static power)
        ax.set_xlabel(axis)
        return _save(fig, ax, f"{summary['spec']['name']}: energy and latency vs {axis}", path)
    if any(p.get("accuracy") is not None for p in points):
        acc = [[p["accuracy"] for p in points if p[axis] == v] for v in values]
        mean = [sum(a) / len(a) for a in acc]
        ax.errorbar(values, mean, yerr=[[m - min(a) for m, a in zip(mean, acc)], [max(a) - m for m, a in zip(mean, acc)]],
                    marker="o", color="tab:blue", capsize=3, label="accuracy (mean, min-max over other axes/seeds)")
        ax.set_ylabel(LABELS["accuracy"], color="tab:blue")
    size = [max(p["params"] for p in points if p[axis] == v) for v in values]
    right.plot(values, size, marker="s", color="tab:orange", label="parameters")
    right.set_ylabel("parameters", color="tab:orange")
    ax.set_xlabel(axis)
    return _save(fig, ax, f"{summary['spec']['name']}: accuracy and model size vs {axis}", path)


def make_plots(summary: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if not summary["points"]:
        return []
    objectives = summary["objectives"]
    y = "accuracy" if "accuracy" in objectives else objectives[0]
    paths = [_pair_plot(summary, x, y, folder / f"{y}_vs_{x}.png") for x in objectives if x != y]
    for axis in summary["axes"]:
        path = _axis_plot(summary, axis, folder / f"axis_{axis.replace('.', '_')}.png")
        if path is not None:
            paths.append(path)
    return paths


#: the table's column heads, with units; a column not named here is headed by its key
HEADS = {"energy_uj": "energy (µJ)", "latency_us": "latency (µs)", "fps": "frames/s", "utilization": "utilisation",
         "onchip_kib": "on-chip (KiB)", "block_ram_blocks": "block RAMs", "dsps": "DSPs", "macs": "MACs/frame",
         "on_front": "on front", "accuracy": "accuracy"}
#: columns of fractions, shown as percentages (sorted by the fraction)
PERCENT_COLUMNS = {"utilization", "accuracy"}


def _cell(value: Any, column: str = "") -> str:
    if column in PERCENT_COLUMNS and isinstance(value, float):
        return f"{value:.1%}"
    return html.escape(format_value(value))


def write_html(summary: dict[str, Any], plots: list[Path], path: Path) -> Path:
    axes = summary["axes"] or sorted({k for p in summary["points"] for k in p if "." in k})
    trained = any(p.get("accuracy") is not None for p in summary["points"])
    columns = ["ordinal", *axes, *(["accuracy"] if trained else []), "energy_uj", "latency_us", "fps", "utilization", "onchip_kib",
               "block_ram_blocks", "dsps", "params", "macs", "fits", "shortfalls", "on_front"]

    def cell(point: dict[str, Any], column: str) -> str:
        value = point.get(column)
        value = "; ".join(value) if isinstance(value, list) and column == "shortfalls" else value
        sort = f' data-sort="{value}"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        kind = ' class="text"' if column == "shortfalls" else ""
        return f"<td{sort}{kind}>{_cell(value, column)}</td>"

    rows = "".join(
        "<tr" + (' class="front"' if p["on_front"] else "") + ">" + "".join(cell(p, c) for c in columns) + "</tr>"
        for p in sorted(summary["points"], key=lambda p: (not p["on_front"], p["ordinal"])))
    images = "".join(f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}"></figure>'
                     for p in plots)
    failures = "".join(f"<li>point {f['ordinal']} {html.escape(json.dumps(f['point']))}: <code>{html.escape(f['error'] or '')}</code></li>"
                       for f in summary["failed"])
    spec = summary["spec"]
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>firebrick sweep {html.escape(spec['name'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1600px}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}th{{cursor:pointer;background:#f4f4f4}}tr.front{{background:#fde2e2}}td.text{{text-align:left;min-width:28em;font-size:12px}}figure{{display:inline-block;margin:.5em}}
img{{max-width:560px}}pre{{background:#f4f4f4;padding:1em;overflow:auto}}</style></head><body>
<h1>Sweep {html.escape(spec['name'])}</h1>
<p>{summary['ok']} points evaluated ({summary['not_fitting']} do not fit their board and are not ranked),
{len(summary['failed'])} failed. Pareto front over
{', '.join(html.escape(o) for o in summary['objectives'])}: {len(summary['front'])} points (highlighted).
Hardware figures come from the exact cycle and activity models (equal to the RTL's counters) priced
with the board's energy table; accuracy is the quantized graph's on the test split.</p>
{images}
<h2>Points</h2><p>Click a column's name to sort by it.</p>
<table id="points"><thead><tr>{''.join(f'<th title="{html.escape(c)}">{html.escape(HEADS.get(c, c))}</th>' for c in columns)}</tr></thead><tbody>{rows}</tbody></table>
<script>
document.querySelectorAll("#points th").forEach((th, column) => th.addEventListener("click", () => {{
  const body = document.querySelector("#points tbody"), up = th.dataset.up !== "1";
  const key = td => td.dataset.sort !== undefined ? parseFloat(td.dataset.sort) : td.textContent;
  [...body.rows].sort((a, b) => {{ const x = key(a.cells[column]), y = key(b.cells[column]);
    return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }}).forEach(row => body.appendChild(row));
  th.dataset.up = up ? "1" : "0";
}}));
</script>
{'<h2>Failed points</h2><ul>' + failures + '</ul>' if failures else ''}
<h2>Spec</h2><pre>{html.escape(yaml.safe_dump(spec, sort_keys=False))}</pre></body></html>"""
    write_atomic(path, lambda f: f.write(doc))
    return path


def write_report(out_dir: str | Path) -> dict[str, Any]:
    out_dir = Path(out_dir)
    summary = summarize(out_dir)
    plots = make_plots(summary, out_dir / "plots")
    summary["plots"] = [str(p) for p in plots]
    summary["html"] = str(write_html(summary, plots, out_dir / "report.html"))
    return summary
