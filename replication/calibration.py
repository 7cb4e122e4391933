"""Calibration of the verdict engine by simulation: are the advertised error rates true?

Synthetic paired experiments with known truth go through the production rules
(analysis.judge_pairs and analysis.close_look: the same CI, rules, Holm and futility code the
reports use). Three families of paired differences: normal, skewed (gamma, skewness 1) and
heavy-tailed (Student t, 3 df), each scaled to sd 1 and shifted to the true effect.

Measured:
- false-confirm rate with sequential looks on, when the true effect is 0 or exactly the
  margin m (no effect that matters): should be <= 5%;
- CI coverage of the 95% interval for n >= 10: should lie in [93%, 97%];
- power: with the true effect at the claimed size c and n from the power analysis
  (statsmodels TTestPower at the one-sided level of a 95% CI), P(CONFIRMED) should be >= 80%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replication.analysis import Design, Result, close_look, judge_pairs
from replication.claims import Comparison, Direction, Kind, Scale
from replication.stats import confidence_interval, n_required

CLAIMED, MARGIN = 1.0, 0.25  # in units of the sd of the paired differences
LOOKS = [5, 10, 20]
DISTRIBUTIONS = ("normal", "skewed", "heavy")


def draw(dist: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n standardised draws (mean 0, sd 1) of the given family."""
    if dist == "normal":
        return rng.standard_normal(n)
    if dist == "skewed":
        k = 4.0  # gamma(4): skewness 1
        return (rng.gamma(k, 1.0, n) - k) / math.sqrt(k)
    if dist == "heavy":
        return rng.standard_t(3, n) / math.sqrt(3.0)
    raise ValueError(f"unknown distribution {dist!r}")


COMPARISON = Comparison(
    Kind.superiority, "m", "t", "b", Direction.increase, Scale.absolute, size=CLAIMED, margin=MARGIN
)


def _pairs(d: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"seed": np.arange(len(d)), "treatment": d, "baseline": 0.0})


def sequential_verdict(d_full: np.ndarray, design: Design, key: str, n_resamples: int) -> Result:
    """The frozen result of one claim with one comparison, run through every look."""
    frozen: dict[str, Result] = {}
    for j, n in enumerate(design.looks):
        r = judge_pairs(
            _pairs(d_full[:n]),
            COMPARISON,
            "x",
            (key,),
            design,
            secondary=False,
            n_resamples=n_resamples,
        )
        close_look(frozen, {"x": r}, design, n, last=j == len(design.looks) - 1)
        if frozen:
            return frozen["x"]
    raise AssertionError("the last look always freezes")


@dataclass
class Rate:
    name: str
    dist: str
    setting: str
    rate: float
    sims: int
    bound: str  # e.g. "<= 0.05"

    @property
    def se(self) -> float:
        return math.sqrt(max(self.rate * (1 - self.rate), 1e-4) / self.sims)


def false_confirm(dist: str, truth: float, sims: int, seed: int, n_resamples: int) -> Rate:
    rng = np.random.default_rng(seed)
    d = Design(LOOKS, 0.05, 0.8)
    hits = sum(
        sequential_verdict(
            truth + draw(dist, LOOKS[-1], rng), d, f"fc{i}", n_resamples
        ).decision.verdict.value
        == "CONFIRMED"
        for i in range(sims)
    )
    return Rate(
        "false confirm (sequential)", dist, f"true effect {truth:g}", hits / sims, sims, "<= 0.05"
    )


def coverage(dist: str, n: int, sims: int, seed: int, n_resamples: int) -> Rate:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(sims):
        ci = confidence_interval(draw(dist, n, rng), rng=rng, n_resamples=n_resamples)
        hits += ci.low < 0 < ci.high
    return Rate("95% CI coverage", dist, f"n = {n}", hits / sims, sims, "in [0.93, 0.97]")


def power_n() -> int:
    """Pairs the power analysis asks for to confirm c over m at a 95% CI, power 0.8 (the
    projection in analysis._superiority: target power + alpha/2 for the U >= c condition)."""
    return math.ceil(n_required(CLAIMED - MARGIN, 1.0, 0.025, 0.8 + 0.025))


def power(dist: str, sims: int, seed: int, n_resamples: int) -> Rate:
    rng = np.random.default_rng(seed)
    n = power_n()
    d = Design([n], 0.05, 0.8)
    hits = 0
    for i in range(sims):
        r = judge_pairs(
            _pairs(CLAIMED + draw(dist, n, rng)),
            COMPARISON,
            "x",
            (f"p{i}",),
            d,
            secondary=False,
            n_resamples=n_resamples,
        )
        hits += r.decision.verdict.value == "CONFIRMED"
    return Rate("power to confirm", dist, f"true effect = c, n = {n}", hits / sims, sims, ">= 0.80")


def cells(sims: int, n_resamples: int, seed: int = 0) -> list[tuple]:
    """Every (function, arguments) of the suite; independent, so they can run in parallel."""
    out = []
    for k, dist in enumerate(DISTRIBUTIONS):
        base = seed + 100 * k
        out += [
            (false_confirm, (dist, truth, sims, base + i, n_resamples))
            for i, truth in enumerate((0.0, MARGIN))
        ]
        out += [(coverage, (dist, n, sims, base + n, n_resamples)) for n in (10, 20, 30)]
        out.append((power, (dist, sims, base + 7, n_resamples)))
    return out


def run(sims: int, n_resamples: int, seed: int = 0, n_jobs: int = 1) -> list[Rate]:
    """The whole suite; n_jobs > 1 spreads the cells over processes (joblib)."""
    from joblib import Parallel, delayed

    todo = cells(sims, n_resamples, seed)
    return Parallel(n_jobs=n_jobs)(delayed(f)(*args) for f, args in todo)


def within(rate: Rate, tolerance_se: float = 2.0) -> bool:
    """Is the measured rate inside its bound, allowing Monte-Carlo error?"""
    tol = tolerance_se * rate.se
    if rate.bound.startswith("<="):
        return rate.rate <= float(rate.bound[2:]) + tol
    if rate.bound.startswith(">="):
        return rate.rate >= float(rate.bound[2:]) - tol
    lo, hi = (float(x) for x in rate.bound[4:-1].split(","))
    return lo - tol <= rate.rate <= hi + tol


def write_report(rates: list[Rate], out_dir, n_resamples: int, seconds: float) -> None:
    """reports/calibration.md and calibration.png: every measured rate against its bound."""
    from pathlib import Path

    from replication import figures, workspace
    from replication.report.fmt import table

    out_dir = Path(out_dir)
    fig, axes = figures.new_figure(13, 3.8, ncols=3)
    figures.calibration(axes, rates)
    figures.save(fig, out_dir / "calibration.png", out_dir)
    rows = [
        [
            r.name,
            r.dist,
            r.setting,
            f"{r.rate:.3f}",
            f"{r.se:.3f}",
            r.bound,
            "yes" if within(r) else "**no**",
        ]
        for r in rates
    ]
    failed = [r for r in rates if not within(r)]
    lines = [
        "# Calibration of the verdict engine",
        "",
        "Simulated paired experiments with a known truth, run through the same code the "
        "reports use (`replication/calibration.py`; regenerate with `make calibrate`). "
        f"Claimed size c = {CLAIMED} and margin m = {MARGIN}, in units of the sd of the paired "
        f"differences; looks at {LOOKS} seeds with alpha 0.05 split over the looks; differences "
        "drawn from a normal, a skewed (gamma, skewness 1) and a heavy-tailed (t, 3 df) family. "
        f"{rates[0].sims} simulations per row, {n_resamples} bootstrap resamples per interval; "
        f"the run took {seconds:.0f} s.",
        "",
        "- **False confirm**: P(CONFIRMED) when the true effect is 0 or exactly the margin "
        "(no effect that matters), with the sequential looks, Holm and the futility stop on.",
        "- **Coverage**: how often the 95% interval (t below 10 pairs, t ∪ BCa from 10) "
        "contains the true mean.",
        f"- **Power**: P(CONFIRMED) at the claimed size with n = {power_n()}, the pairs the "
        "power analysis asks for.",
        "",
        "A row passes if the rate is within its bound, allowing 2 Monte-Carlo standard errors.",
        "",
        *table(["check", "distribution", "setting", "rate", "MC s.e.", "bound", "passes"], rows),
        "",
        (
            "All rows pass."
            if not failed
            else f"{len(failed)} row(s) outside the bound: "
            + "; ".join(f"{r.name}, {r.dist}, {r.setting}: {r.rate:.3f}" for r in failed)
            + "."
        ),
        "",
        "![calibration](calibration.png)",
        "",
    ]
    workspace.write_atomic(out_dir / "calibration.md", "\n".join(lines), out_dir)
