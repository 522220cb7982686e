"""A bar chart of a synthesized design's share of each board resource (matplotlib, no display needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from firebrick.atomic import save_figure


def plot_resources(resources: dict[str, dict[str, Any]], title: str, path: str | os.PathLike) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, r in resources.items() if r["percent"] is not None]
    percent = [resources[n]["percent"] for n in names]
    fig, ax = plt.subplots(figsize=(6, 2.8), dpi=120)
    bars = ax.barh(names, percent, color=["#b5432f" if p > 100 else "#3f6fb5" for p in percent])
    ax.bar_label(bars, labels=[f"{resources[n]['used']:,.0f} / {resources[n]['available']:,} ({p:.0f}%)" for n, p in zip(names, percent)],
                 padding=3, fontsize=8)
    ax.axvline(100, color="0.3", linewidth=0.8)
    ax.set_xlim(0, max([100.0, *percent]) * 1.45)
    ax.set_xlabel("% of the device")
    ax.set_title(title, fontsize=9)
    ax.invert_yaxis()
    return save_figure(fig, path)
