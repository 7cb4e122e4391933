"""Figures for reports. Each function draws on the given axes and returns them; report.py
saves the files. Points are spread by seed order, not random jitter, so PNGs are reproducible.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from replication.stats import EffectEstimate


def _spread(n: int, width: float = 0.5) -> np.ndarray:
    return np.linspace(-width / 2, width / 2, n) if n > 1 else np.zeros(n)


def per_seed(
    ax: Axes,
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    metric: str,
    title: str,
    scale: float = 100.0,
) -> Axes:
    """Per-seed values of `metric` per arm (dots) with the arm mean and its 95% CI (bar).

    runs: completed evaluation runs (columns arm, seed, <metric>); summary: stats.arm_summary.
    """
    arms = list(summary["arm"])
    for i, arm in enumerate(arms):
        v = runs[runs["arm"] == arm].sort_values("seed")[metric].to_numpy(float) * scale
        ax.scatter(i + _spread(len(v)), v, s=12, alpha=0.55, color="tab:blue", lw=0)
        row = summary[summary["arm"] == arm].iloc[0]
        m, lo, hi = row["mean"] * scale, row["ci_low"] * scale, row["ci_high"] * scale
        ax.errorbar(i + 0.38, m, yerr=[[m - lo], [hi - m]], fmt="o", color="black", capsize=4)
    ax.set_xticks(range(len(arms)), arms, rotation=20, ha="right")
    ax.set_ylabel(f"{metric} (%)" if scale == 100 else metric)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return ax


def effect_intervals(ax: Axes, estimates: list[EffectEstimate], scale: float = 100.0) -> Axes:
    """One row per comparison: per-seed differences, mean and CI, claimed size and margin.

    Units are the claim's (points or % change), + = the claimed direction.
    """
    for i, est in enumerate(estimates):
        y = len(estimates) - 1 - i
        d = np.array([est.shown(x) for x in est.pairs["diff"]]) * scale
        ax.scatter(d, y + _spread(len(d), 0.35), s=10, alpha=0.5, color="tab:blue", lw=0)
        m, lo, hi = (est.shown(x) * scale for x in (est.mean, est.ci.low, est.ci.high))
        ax.errorbar(m, y - 0.3, xerr=[[m - lo], [hi - m]], fmt="o", color="black", capsize=4)
        c, mg = est.shown(est.claimed) * scale, est.shown(est.margin) * scale
        ax.plot([c, c], [y - 0.45, y + 0.45], color="tab:red", lw=2)
        ax.fill_betweenx([y - 0.45, y + 0.45], -mg, mg, color="grey", alpha=0.15, lw=0)
    ax.axvline(0, color="grey", lw=0.8)
    labels = [
        f"{e.effect.treatment} vs {e.effect.baseline}\n({e.effect.scale.value})" for e in estimates
    ]
    ax.set_yticks(range(len(estimates)), labels[::-1], fontsize=8)
    ax.set_xlabel("difference, + = claimed direction (points, or % change if relative)")
    ax.set_title(
        "Paired differences per seed; black: mean and 95% CI; red: claimed size;\n"
        "grey: within the margin",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)
    return ax


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[plt.Figure, list[Axes]]:
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, list(axes[0])


def save(fig: plt.Figure, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
