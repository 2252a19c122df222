"""Plots of search results: :func:`plot_trajectories` (needs matplotlib, imported on call)."""
from __future__ import annotations

import numpy as np

from pyg_nar.utils.files import write_atomic

__all__ = ["plot_trajectories"]


def plot_trajectories(curves: dict, optimum: float, path: str, title: str = "") -> None:
    """Save a PNG of mean +- std best accuracy vs queries, one line per method.

    Args:
        curves (dict): method name -> ``[seeds, budget]`` array of
            :attr:`~pyg_nar.search.oracle.SearchResult.trajectory` rows.
        optimum (float): the best accuracy of the table (a dashed line).
        path (str): the PNG file written.
        title (str, optional): the plot's title. (default: :obj:`""`, none)
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_trajectories needs matplotlib: pip install matplotlib "
                          "(or pyg-nar[plot])") from None
    fig, ax = plt.subplots(figsize=(6, 4))
    lows = []
    for name, c in curves.items():
        q = np.arange(1, c.shape[1] + 1)
        m, s = c.mean(0), c.std(0)
        ax.plot(q, m, label=name)
        ax.fill_between(q, m - s, m + s, alpha=0.2)
        lows.append(m[min(9, c.shape[1] - 1)])
    ax.axhline(optimum, color="k", ls="--", lw=0.8, label=f"optimum {optimum:.2f}")
    ax.set_xlabel("queries")
    ax.set_ylabel("best accuracy found")
    ax.set_ylim(min(lows) - 0.5, optimum + 0.3)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
