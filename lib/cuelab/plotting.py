"""The house style for every figure: seaborn, one palette, figures saved beside claims.json."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import seaborn as sns

from cuelab.io import atomic_path

PALETTE = "colorblind"


def use_house_style() -> None:
    """Apply cuelab's seaborn theme (call once at the top of a notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    matplotlib.rcParams.update(
        {
            "figure.dpi": 90,
            "savefig.dpi": 120,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "axes.titlesize": 11,
            "legend.frameon": False,
        }
    )


def save(fig: plt.Figure, folder: str | Path, name: str) -> Path:
    """Save fig as folder/name.png and return the path."""
    path = Path(folder) / f"{name}.png"
    with atomic_path(path) as tmp:  # an interrupted run leaves no half-written figure
        fig.savefig(tmp, format="png")
    return path


def band(ax: plt.Axes, x, low, high, *, color=None, alpha: float = 0.2, label: str | None = None) -> None:
    """Shade the spread over seeds between low and high."""
    ax.fill_between(x, low, high, color=color, alpha=alpha, linewidth=0, label=label)
