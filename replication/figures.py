"""Figures for reports. Each function draws on the given axes and returns them; report.py
saves the files. Points are spread by seed order, not random jitter, so PNGs are reproducible.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from replication import workspace
from replication.metrics import is_fraction

if TYPE_CHECKING:  # types only: rendering never runs the analysis
    from replication.analysis import Result


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


def expert_loads(ax: Axes, layers: list[list[float]], title: str) -> Axes:
    """One MoE arm's utilisation: per layer, the experts' shares of token slots from the
    busiest down (mean over seeds), against the uniform share 1 / experts."""
    n = len(layers[0])
    for i, shares in enumerate(layers):
        ax.plot(range(1, n + 1), [100 * v for v in shares], marker=".", label=f"layer {i}")
    ax.axhline(100 / n, color="black", linestyle="--", linewidth=1, label="uniform")
    ax.set_xlabel("expert, busiest first")
    ax.set_ylabel("share of token slots (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax


def _display(r: Result) -> tuple[float, float, str]:
    """(sign, scale, unit) that turn r.shown() values into the treatment's change against the
    baseline, in percent, points or a factor (as the report's tables show them)."""
    c = r.spec
    if c.scale.value == "ratio":
        return 1.0, 1.0, "x"
    sign = -1.0 if c.direction is not None and c.direction.value == "decrease" else 1.0
    if c.scale.value == "relative":
        return sign, 100.0, "%"
    return (sign, 100.0, "pt") if is_fraction(c.metric) else (sign, 1.0, "")


def effect_intervals(ax: Axes, results: list[Result]) -> Axes:
    """One row per comparison: per-seed differences, mean and CI, the claimed size (red) and
    the margin around no difference (grey), as the treatment's change against the baseline."""
    for i, r in enumerate(results):
        y = len(results) - 1 - i
        sign, scale, _ = _display(r)

        def show(x: float, sign=sign, scale=scale, r=r) -> float:
            return sign * r.shown(x) * scale

        d = np.array([show(x) for x in r.pairs["diff"]])
        ax.scatter(d, y + _spread(len(d), 0.35), s=10, alpha=0.5, color="tab:blue", lw=0)
        m, lo, hi = show(r.mean), show(r.ci.low), show(r.ci.high)
        lo, hi = min(lo, hi), max(lo, hi)
        ax.errorbar(m, y - 0.3, xerr=[[m - lo], [hi - m]], fmt="o", color="black", capsize=4)
        if not np.isnan(r.threshold):
            c = show(r.threshold)
            ax.plot([c, c], [y - 0.45, y + 0.45], color="tab:red", lw=2)
        if r.spec.scale.value == "ratio":
            mg = (1 / r.shown(r.margin), r.shown(r.margin))
        else:
            mg = (-abs(show(r.margin)), abs(show(r.margin)))
        ax.fill_betweenx([y - 0.45, y + 0.45], *mg, color="grey", alpha=0.15, lw=0)
    if results and all(r.spec.scale.value == "ratio" for r in results):
        ax.axvline(1, color="grey", lw=0.8)
        ax.set_xscale("log")
    else:
        ax.axvline(0, color="grey", lw=0.8)
    labels = [
        f"{r.spec.treatment} vs {r.spec.baseline}\n({r.spec.kind.value}, "
        f"{_display(r)[2] or r.spec.metric})"
        for r in results
    ]
    ax.set_yticks(range(len(results)), labels[::-1], fontsize=8)
    ax.set_xlabel(
        "treatment vs baseline: change (% or points), or factor in the claimed direction (x)"
    )
    ax.set_title(
        "Paired differences per seed; black: mean and CI; red: claimed size or bound;\n"
        "grey: within the margin",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)
    return ax


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[plt.Figure, list[Axes]]:
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, list(axes[0])


def save(fig: plt.Figure, path: Path, root: Path) -> None:
    """PNG at `path`, written atomically and only under `root` (replication/workspace.py)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    workspace.write_atomic(path, buf.getvalue(), root)


def search_trace(ax: Axes, trace: dict, title: str, first_predicted: int | None) -> Axes:
    """One search arm's fitness by generation (mean over seeds): the best as its script
    reports it (surrogate predictions included) against the best measured for real."""
    gen = trace["gen"]
    styles = {
        "best_reported": ("generation's best, as reported", "tab:red", "-"),
        "best_measured": ("generation's best, measured", "tab:blue", "-"),
        "overall_reported": ("best so far, as reported", "tab:red", ":"),
        "overall_measured": ("best so far, measured", "tab:blue", ":"),
    }
    for key, (label, color, ls) in styles.items():
        if key in trace:
            ax.plot(gen, trace[key], ls, color=color, label=label, lw=1.4)
    if first_predicted:
        ax.axvline(first_predicted, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness (loss)")
    ax.set_title(f"{title} (n = {trace['n']})", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax
