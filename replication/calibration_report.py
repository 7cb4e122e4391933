"""reports/calibration.md and calibration.png from the rates replication.calibration measured.

Rendering only: every number shown was computed there; pass/fail is calibration.within.
"""

from __future__ import annotations

from pathlib import Path

from replication import calibration as cal
from replication import figures, workspace
from replication.report.fmt import table

COVERAGE = ("first-look CI coverage", "95% CI coverage")


def _miss_ratio(r: cal.Rate) -> tuple[float, float, float]:
    """Miss rate over its nominal value, with the band's ends (cal.MISS_BAND) on that scale."""
    if r.bound.startswith(">="):  # one-sided (heavy tails): 1 - bound = MISS_BAND[1] x nominal
        nominal = (1 - float(r.bound[2:])) / cal.MISS_BAND[1]
    else:
        lo, hi = (float(x) for x in r.bound[4:-1].split(","))
        nominal = (hi - lo) / (cal.MISS_BAND[1] - cal.MISS_BAND[0])
    return (1 - r.rate) / nominal, 2 * r.se / nominal, nominal


def figure(rates: list[cal.Rate], path: Path, root: Path) -> None:
    """Decision error rates, coverage misses relative to nominal, power; bounds as lines."""
    fig, axes = figures.new_figure(16, 6.5, ncols=3)
    dists = list(dict.fromkeys(r.dist for r in rates))
    step = 0.8 / max(len(dists), 1)
    errors = [r for r in rates if r.bound == cal.BOUND]
    rows = list(dict.fromkeys((r.name, r.setting) for r in errors))
    cov = [r for r in rates if r.name in COVERAGE]
    cols = list(dict.fromkeys(r.setting for r in cov))
    power = [r for r in rates if r.name == "power to confirm"]
    for k, dist in enumerate(dists):
        off = (k - (len(dists) - 1) / 2) * step
        mine = [r for r in errors if r.dist == dist]
        y = [rows.index((r.name, r.setting)) + off for r in mine]
        kw = {"marker": "o", "ls": "none", "capsize": 2, "label": dist, "ms": 4}
        axes[0].errorbar([r.rate for r in mine], y, xerr=[2 * r.se for r in mine], **kw)
        mine = [r for r in cov if r.dist == dist]
        ratio = [_miss_ratio(r) for r in mine]
        x = [cols.index(r.setting) + off for r in mine]
        axes[1].errorbar(x, [m[0] for m in ratio], yerr=[m[1] for m in ratio], **kw)
        mine = [r for r in power if r.dist == dist]
        axes[2].bar([k], [r.rate for r in mine], yerr=[2 * r.se for r in mine], label=dist)
    axes[0].axvline(0.05, color="tab:red")
    axes[0].set_yticks(range(len(rows)), [f"{n.split(' (')[0]}: {s}" for n, s in rows], fontsize=7)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("P(error)")
    axes[0].set_title("decision errors, sequential (bound 0.05)", fontsize=10)
    axes[0].legend(fontsize=7)
    axes[1].axhspan(*cal.MISS_BAND, color="grey", alpha=0.2)
    axes[1].axhline(1.0, color="grey", lw=0.8)
    ticks = [c.replace("n = ", "").replace(", level ", "\n@ ") for c in cols]
    axes[1].set_xticks(range(len(cols)), ticks, fontsize=7)
    axes[1].set_xlabel("pairs (@ level; 95% unless shown)")
    axes[1].set_ylabel("miss rate / nominal miss rate")
    lo, hi = cal.MISS_BAND
    axes[1].set_title(
        f"CI coverage (band {lo:g}-{hi:g} x nominal miss; heavy: <= {hi:g})", fontsize=10
    )
    axes[2].axhline(0.8, color="tab:red")
    axes[2].set_xticks(range(len(dists)), dists, fontsize=8)
    axes[2].set_ylim(0, 1)
    axes[2].set_title("power at c (n per family: see the table); bound 0.8", fontsize=10)
    figures.save(fig, path, root)


def write(rates: list[cal.Rate], out_dir: Path, seconds: float) -> None:
    """Every measured rate against its bound, and the figure."""
    figure(rates, out_dir / "calibration.png", out_dir)
    ok = {id(r): cal.within(r) for r in rates}
    rows = [
        [r.name, r.dist, r.setting, f"{r.rate:.4f}", f"{r.se:.4f}", r.sims, r.bound]
        + ["yes" if ok[id(r)] else "**no**"]
        for r in rates
    ]
    failed = [r for r in rates if not ok[id(r)]]
    looks = ", ".join(f"n = {n} at {1 - a:.4f}" for n, a in cal.FIRST_LOOKS)
    lines = [
        "# Calibration of the verdict engine",
        "",
        "Simulated paired experiments with a known truth, run through the same code the "
        "reports use (`analysis.judge_pairs` and `analysis.close_look`: intervals, rules, Holm, "
        "futility stop; `replication/calibration.py`, regenerate with `make calibrate`). "
        f"Sequential rows look at {cal.LOOKS} seeds with alpha 0.05 split over the looks "
        "(one audit protocol: the largest alpha per look any claim uses). Per-seed "
        "differences on the analysis scale are normal, right-skewed (gamma(4), skewness +1), "
        "left-skewed (its negation) or heavy-tailed (t, 3 df); ratio and relative claims are "
        "simulated as positive metrics (lognormal baselines) and go through the log-ratio path. "
        "Every interval is the union of the Student-t and Hall's skewness-corrected t "
        f"interval (closed form, no resampling); the run took {seconds:.0f} s.",
        "",
        f"- **False confirm**: P(CONFIRMED), absolute superiority (c = {cal.CLAIMED}, "
        f"m = {cal.MARGIN} in sd units) at a true effect of 0 or exactly the margin.",
        "- **False refute**: P(REFUTED) where the claim holds: superiority at the claimed size "
        "c and at 1.5c (absolute; ratio `8.1x faster`, margin 2%, log-ratio sd 0.15); "
        "non-inferiority (`loss no more than 2% worse`, margin 1%, log-ratio sd 0.02) at a true "
        "cost of exactly 2% and of 0; and one `-8.4% loss` comparison at its claimed size "
        "inside a claim of four (log-ratio sd = the claimed size) whose other three have no "
        "effect, so Holm's correction runs over a family of four.",
        "- **False reversed**: P(REFUTED (reversed)) at a true effect of 0.",
        "- **First-look coverage**: how often the interval the rules use at every first look "
        f"of claims/ ({looks}) contains the true mean; **95% coverage**: the 95% interval "
        "at n = 10, 20, 30. Bound: a miss rate within "
        f"{cal.MISS_BAND[0]:g}-{cal.MISS_BAND[1]:g} times the nominal one; for the "
        "heavy-tailed family at most "
        f"{cal.MISS_BAND[1]:g} times (t intervals are conservative under symmetric heavy "
        "tails at small alpha, so only under-coverage is a defect there; the figure shows "
        "how far below the band they fall).",
        "- **Power**: P(CONFIRMED) at the claimed size with the pairs the power analysis asks "
        "for at the family's skewness ("
        + ", ".join(f"{d}: n = {cal.power_n(g)}" for d, g in cal.SKEW.items())
        + ").",
        "",
        "A row passes if the rate is within its bound, allowing 2 Monte-Carlo standard errors. "
        "Why each bound, and what a failing row means for the verdicts: "
        "[docs/statistics.md](../docs/statistics.md#calibration).",
        "",
        *table(
            ["check", "distribution", "setting", "rate", "MC s.e.", "sims", "bound", "passes"], rows
        ),
        "",
        (
            "All rows pass."
            if not failed
            else f"{len(failed)} row(s) outside the bound: "
            + "; ".join(f"{r.name}, {r.dist}, {r.setting}: {r.rate:.4f}" for r in failed)
            + "."
        ),
        "",
        "![calibration](calibration.png)",
        "",
    ]
    workspace.write_atomic(out_dir / "calibration.md", "\n".join(lines), out_dir)
