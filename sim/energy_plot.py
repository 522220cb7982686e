"""A bar chart of one frame's energy breakdown (matplotlib, no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

from firebrick.atomic import save_figure


def plot_energy(breakdown_uj: dict[str, float], title: str, path: str | os.PathLike) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(breakdown_uj)
    values = [breakdown_uj[n] for n in names]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=120)
    bars = ax.barh(names, values, color="#b5432f")
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], padding=3, fontsize=8)
    ax.set_xlabel("µJ per frame")
    ax.set_title(title, fontsize=9)
    ax.invert_yaxis()
    ax.margins(x=0.2)
    return save_figure(fig, path)
