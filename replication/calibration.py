"""Calibration of the verdict engine by simulation: are the advertised error rates true?

Synthetic paired experiments with known truth go through the production rules
(analysis.judge_pairs and analysis.close_look: the same CI, rules, Holm and futility code the
reports use). Four families of per-seed differences on the analysis scale: normal,
right-skewed (gamma(4), skewness +1), left-skewed (its negation, skewness -1) and
heavy-tailed (Student t, 3 df), each scaled to the case's sd and shifted to the true effect.
Ratio and relative claims get positive metrics (lognormal baselines, treatment = baseline
times exp(difference)), so the log-ratio path and the unit conversions are the real ones.

Measured (docs/statistics.md#calibration says why each bound):
- false confirm: P(CONFIRMED) at a true effect of 0 or exactly the margin;
- false refute: P(REFUTED) where the claim holds: superiority (absolute and ratio) at the
  claimed size and 1.5 times it, non-inferiority at the allowed cost and at no cost, and a
  comparison at its claimed size inside a Holm family of four whose other three are null;
- false reversed: P(REFUTED (reversed)) at a true effect of 0;
- coverage of the interval at every first look the claims in claims/ use (n, level) and of
  the 95% interval at n = 10, 20, 30: miss rate within 0.6-1.4 times the nominal one
  (heavy-tailed family: at most 1.4 times; coverage_band says why);
- power: P(CONFIRMED) at the claimed size with n from the power analysis for the family's
  skewness (stats.n_required: normal theory, and Hall's test when the data are skewed).
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from replication.analysis import Design, Result, audit_protocols, close_look, design, judge_pairs
from replication.claims import Comparison, Direction, Kind, Scale, to_analysis_scale
from replication.stats import confidence_interval, n_required

CLAIMED, MARGIN = 1.0, 0.25  # absolute case, in units of the sd of the paired differences
LOOKS = [10, 20]
DISTRIBUTIONS = ("normal", "right-skewed", "left-skewed", "heavy")
CLAIMS_DIR = Path(__file__).resolve().parents[1] / "claims"
BOUND = "<= 0.05"  # every decision error rate
# (seeds, alpha per look) of every first look in claims/: one look at 5 (h-ee-18 faithful);
# looks [10, 20] over 1-3 audit protocols; one look at 10 over 1-5 (h-ee-1: 5).
# tests/test_calibration.py checks this against first_looks(), which reads the claims.
# every split claims use (3 and 5: faithful protocols of 3 and 5 seeds)
FIRST_LOOKS = [(3, 0.05), (3, 0.05 / 3), (5, 0.05), *((10, 0.05 / k) for k in range(1, 7))]
MISS_BAND = (0.6, 1.4)  # coverage rows: miss rate over nominal (coverage_band says why)
SYMMETRIC_HEAVY = ("heavy",)  # coverage_band: only the under-coverage side binds
SKEW = {"normal": 0.0, "right-skewed": 1.0, "left-skewed": -1.0, "heavy": 0.0}


def draw(dist: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n standardised draws (mean 0, sd 1) of the given family."""
    if dist == "normal":
        return rng.standard_normal(n)
    if dist in ("right-skewed", "left-skewed"):
        k = 4.0  # gamma(4): skewness 1; the sign matters for one-sided rules
        x = (rng.gamma(k, 1.0, n) - k) / math.sqrt(k)
        return x if dist == "right-skewed" else -x
    if dist == "heavy":
        return rng.standard_t(3, n) / math.sqrt(3.0)
    raise ValueError(f"unknown distribution {dist!r}")


def _cmp(kind: Kind, metric: str, direction: Direction, scale: Scale, **kw) -> Comparison:
    return Comparison(kind, metric, "t", "b", direction, scale, **kw)


SUP = Kind.superiority
COMPARISON = _cmp(SUP, "m", Direction.increase, Scale.absolute, size=CLAIMED, margin=MARGIN)
RATIO = _cmp(SUP, "time", Direction.decrease, Scale.ratio, size=8.1, margin=0.02)  # "8.1x faster"
NONINF = _cmp(  # "loss no more than 2% worse"
    Kind.non_inferiority, "loss", Direction.decrease, Scale.relative, cost=0.02, margin=0.01
)
LOSS = _cmp(SUP, "loss", Direction.decrease, Scale.relative, size=0.084, margin=0.01)  # "-8.4%"


def claimed(c: Comparison, times: float = 1.0) -> float:
    """`times` the claimed size of c, on the analysis scale (+ = the claimed direction)."""
    return to_analysis_scale(times * c.size, c.scale, c.direction)


def allowed_cost(c: Comparison) -> float:
    """The worst true difference a non-inferiority claim allows: exactly -cost."""
    return -to_analysis_scale(c.cost, c.scale, Direction.increase)


@dataclass(frozen=True)
class Case:
    """One claim's comparisons (the first is the one measured), their true effects on the
    analysis scale and the sd of their per-seed differences there."""

    comparisons: tuple[Comparison, ...]
    truths: tuple[float, ...]
    sd: float


def to_pairs(c: Comparison, d: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Per-seed metrics whose analysis-scale differences are d: absolute T - B, or positive
    (lognormal) metrics with log T - log B = +-d for ratio and relative scales."""
    s = -1.0 if c.direction is Direction.decrease else 1.0
    if c.scale is Scale.absolute:
        b = np.zeros(len(d))
        t = s * d
    else:
        b = np.exp(rng.normal(0.0, 0.3, len(d)))
        t = b * np.exp(s * d)
    return pd.DataFrame({"seed": np.arange(len(d)), "treatment": t, "baseline": b})


def sequential_verdict(
    case: Case, dist: str, des: Design, key: str, rng: np.random.Generator
) -> Result:
    """The frozen result of the case's first comparison after the claim's looks, every
    comparison judged, Holm-corrected and frozen by analysis.close_look."""
    pairs = {
        f"x{i}": (c, to_pairs(c, t + case.sd * draw(dist, des.n_max, rng), rng))
        for i, (c, t) in enumerate(zip(case.comparisons, case.truths, strict=True))
    }
    frozen: dict[str, Result] = {}
    for j, n in enumerate(des.looks):
        current = {
            name: judge_pairs(p[:n], c, name, (key, name), des, secondary=False)
            for name, (c, p) in pairs.items()
            if name not in frozen
        }
        close_look(frozen, current, des, n, last=j == len(des.looks) - 1)
        if len(frozen) == len(pairs):
            break
    return frozen["x0"]


FC, FR, REV = "false confirm (sequential)", "false refute (sequential)", "false reversed"
EVENTS = {FC: ("CONFIRMED", None), FR: ("REFUTED", None), REV: ("REFUTED", "reversed")}


def _hit(r: Result, event: str) -> bool:
    verdict, label = EVENTS[event]
    return r.decision.verdict.value == verdict and (label is None or r.decision.label == label)


@dataclass
class Rate:
    name: str
    dist: str
    setting: str
    rate: float
    sims: int
    bound: str  # "<= x", ">= x" or "in [lo, hi]"

    @property
    def se(self) -> float:
        return math.sqrt(max(self.rate * (1 - self.rate), 1e-4) / self.sims)


def sequential_rates(
    case: Case,
    events: tuple[str, ...],
    dist: str,
    setting: str,
    sims: int,
    seed: int,
) -> list[Rate]:
    """P(event) for each event, from one set of simulated claims with looks at LOOKS."""
    rng = np.random.default_rng(seed)
    des = Design(LOOKS, 0.05, 0.8)  # one audit protocol: the largest alpha per look in claims/
    hits = dict.fromkeys(events, 0)
    gc.freeze()  # statsmodels' Holm calls gc.collect(): let it skip the objects alive now
    try:
        for i in range(sims):
            r = sequential_verdict(case, dist, des, f"s{seed}-{i}", rng)
            for e in events:
                hits[e] += _hit(r, e)
    finally:
        gc.unfreeze()
    return [Rate(e, dist, setting, hits[e] / sims, sims, BOUND) for e in events]


def coverage_band(level: float, dist: str = "normal") -> str:
    """Miss rate within 0.6-1.4 times nominal: [0.93, 0.97] for a 95% interval. For the
    symmetric heavy-tailed family only the upper end binds: t intervals are conservative
    there at small alpha (Benjamini 1983), so over-coverage is expected, not a defect; an
    interval too wide for a bug's sake shows in the other families' lower ends."""
    a = 1 - level
    if dist in SYMMETRIC_HEAVY:
        return f">= {1 - MISS_BAND[1] * a:.5g}"
    return f"in [{1 - MISS_BAND[1] * a:.5g}, {1 - MISS_BAND[0] * a:.5g}]"


def coverage(dist: str, n: int, level: float, sims: int, seed: int) -> Rate:
    """How often stats.confidence_interval at `level` contains the true mean (0)."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(sims):
        ci = confidence_interval(draw(dist, n, rng), level=level)
        hits += ci.low < 0 < ci.high
    band = coverage_band(level, dist)
    if level == 0.95 and n >= 10:
        return Rate("95% CI coverage", dist, f"n = {n}", hits / sims, sims, band)
    setting = f"n = {n}, level {level:.4f}"
    return Rate("first-look CI coverage", dist, setting, hits / sims, sims, band)


def first_looks(claims_dir: Path = CLAIMS_DIR) -> list[tuple[int, float]]:
    """(seeds, alpha per look) of the first look of every protocol in claims/ that has an
    interval, from analysis.design: the levels the rules really use."""
    from replication.claimfile import load_claim

    found = set()
    for path in sorted(Path(claims_dir).glob("*.yaml")):
        claim = load_claim(path)
        for name, proto in claim.protocols.items():
            d = design(proto, None, 1 if name == "faithful" else len(audit_protocols(claim)))
            if d.looks[0] >= 2:
                found.add((d.looks[0], round(d.alpha_look, 12)))
    return sorted(found)


def power_n(skew: float = 0.0) -> int:
    """Pairs the power analysis asks for to confirm c over m at a 95% CI, power 0.8, for
    differences of the given skewness (the projection in comparisons._superiority: target
    power + alpha/2 for the U >= c condition)."""
    return math.ceil(n_required(CLAIMED - MARGIN, 1.0, 0.025, 0.8 + 0.025, skew))


def power(dist: str, sims: int, seed: int) -> Rate:
    rng = np.random.default_rng(seed)
    n = power_n(SKEW[dist])
    d = Design([n], 0.05, 0.8)
    hits = 0
    for i in range(sims):
        p = to_pairs(COMPARISON, CLAIMED + draw(dist, n, rng), rng)
        r = judge_pairs(p, COMPARISON, "x", (f"p{i}",), d, secondary=False)
        hits += r.decision.verdict.value == "CONFIRMED"
    return Rate("power to confirm", dist, f"true effect = c, n = {n}", hits / sims, sims, ">= 0.80")


def one(c: Comparison, truth: float, sd: float) -> Case:
    return Case((c,), (truth,), sd)


def sequential_cases() -> list[tuple[Case, tuple[str, ...], str]]:
    """(case, events, setting) of every sequential row."""
    family = Case((LOSS,) * 4, (claimed(LOSS), 0.0, 0.0, 0.0), claimed(LOSS))
    return [
        (one(COMPARISON, 0.0, 1.0), (FC, REV), "superiority, true effect 0"),
        (one(COMPARISON, MARGIN, 1.0), (FC,), f"superiority, true effect {MARGIN:g} = m"),
        (one(COMPARISON, CLAIMED, 1.0), (FR,), "superiority, true effect = c"),
        (one(COMPARISON, 1.5 * CLAIMED, 1.0), (FR,), "superiority, true effect = 1.5c"),
        (one(RATIO, claimed(RATIO), 0.15), (FR,), "ratio 8.1x claimed, true 8.1x"),
        (one(RATIO, claimed(RATIO, 1.5), 0.15), (FR,), "ratio 8.1x claimed, true 12.15x"),
        (one(NONINF, allowed_cost(NONINF), 0.02), (FR,), "non-inferiority, true cost = 2% allowed"),
        (one(NONINF, 0.0, 0.02), (FR,), "non-inferiority (2% allowed), true cost 0"),
        (family, (FR,), "Holm family of 4: -8.4% claimed, true -8.4%, 3 nulls"),
    ]


def cells(sims: int, seed: int = 0, new_sims: int | None = None) -> list[tuple]:
    """Every (function, arguments) of the suite; independent, so they can run in parallel.
    `new_sims` (default sims) sets the rows issue 9 added; the cheap first-look coverage
    rows get 10 times as many, to resolve a miss rate of a few per thousand."""
    ns = new_sims or sims
    full = (10, 20, 30)  # the 95% rows below already cover a first look at 95% with these n
    looks = [(n, 1 - a) for n, a in FIRST_LOOKS if not (a == 0.05 and n in full)]
    out = []
    for k, dist in enumerate(DISTRIBUTIONS):
        base = seed + 1000 * k
        for i, (case, events, setting) in enumerate(sequential_cases()):
            s = sims if FC in events else ns
            out.append((sequential_rates, (case, events, dist, setting, s, base + i)))
        out += [
            (coverage, (dist, n, level, 10 * ns, base + 100 + j))
            for j, (n, level) in enumerate(looks)
        ]
        out += [(coverage, (dist, n, 0.95, sims, base + 200 + n)) for n in full]
        out.append((power, (dist, sims, base + 50)))
    return out


def run(sims: int, seed: int = 0, n_jobs: int = 1, new_sims: int | None = None) -> list[Rate]:
    """The whole suite; n_jobs > 1 spreads the cells over processes (joblib)."""
    from joblib import Parallel, delayed

    todo = cells(sims, seed, new_sims)
    out = Parallel(n_jobs=n_jobs)(delayed(f)(*args) for f, args in todo)
    return [r for x in out for r in (x if isinstance(x, list) else [x])]


def within(rate: Rate, tolerance_se: float = 2.0) -> bool:
    """Is the measured rate inside its bound, allowing Monte-Carlo error?"""
    tol = tolerance_se * rate.se
    if rate.bound.startswith("<="):
        return rate.rate <= float(rate.bound[2:]) + tol
    if rate.bound.startswith(">="):
        return rate.rate >= float(rate.bound[2:]) - tol
    lo, hi = (float(x) for x in rate.bound[4:-1].split(","))
    return lo - tol <= rate.rate <= hi + tol


def write_report(rates: list[Rate], out_dir, seconds: float) -> None:
    """reports/calibration.md and .png (rendered by calibration_report; kept for the CLI)."""
    from replication import calibration_report

    calibration_report.write(rates, Path(out_dir), seconds)
