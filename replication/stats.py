"""Statistics over run records: paired differences, confidence intervals, effect estimates.

Pure functions over the DataFrame of records.to_frame() (one row per run; columns protocol,
arm, seed, stage, status and one per metric). The replicate is a full training run: pairs are
formed by seed, never by evaluation batch. Randomness (the bootstrap) comes from a generator
seeded by the claim id, so a report re-rendered from the same records is byte-identical.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

from replication.claims import Direction, Effect, Scale
from replication.verdicts import Decision, decide, not_estimable

CONFIDENCE = 0.95
BOOTSTRAP_FROM = 10  # pairs; below this a Student-t interval
N_RESAMPLES = 9999


def rng_for(*keys: str) -> np.random.Generator:
    """A generator seeded by the given strings (claim id, effect, protocol)."""
    digest = hashlib.sha256("/".join(keys).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str  # "t" | "BCa bootstrap" | "degenerate" | "none"


def confidence_interval(
    d: np.ndarray, *, rng: np.random.Generator, confidence: float = CONFIDENCE
) -> Interval:
    """CI of the mean of d: Student-t below BOOTSTRAP_FROM values, BCa bootstrap from there."""
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return Interval(math.nan, math.nan, "none")
    if np.all(d == d[0]):
        return Interval(float(d[0]), float(d[0]), "degenerate")
    if len(d) < BOOTSTRAP_FROM:
        ci = st.ttest_1samp(d, 0.0).confidence_interval(confidence)
        return Interval(float(ci.low), float(ci.high), "t")
    res = st.bootstrap(
        (d,), np.mean, method="BCa", n_resamples=N_RESAMPLES, confidence_level=confidence, rng=rng
    )
    ci = res.confidence_interval
    return Interval(float(ci.low), float(ci.high), "BCa bootstrap")


def to_analysis_scale(value: float, scale: Scale, direction: Direction) -> float:
    """A claimed size or margin (fraction for relative claims) on the scale verdicts use."""
    if scale is Scale.absolute:
        return value
    return math.log1p(value) if direction is Direction.increase else -math.log1p(-value)


def from_analysis_scale(x: float, scale: Scale, direction: Direction) -> float:
    """Inverse of to_analysis_scale: an analysis-scale difference in the claim's own units."""
    if scale is Scale.absolute or math.isnan(x):
        return x
    return math.expm1(x) if direction is Direction.increase else -math.expm1(-x)


def paired_table(df: pd.DataFrame, metric: str, treatment: str, baseline: str) -> pd.DataFrame:
    """One row per seed with columns seed, treatment, baseline (the metric of each arm).

    Only evaluation runs that completed; seeds where either arm is missing or did not
    complete are dropped here and listed by unpaired_seeds().
    """
    ok = df[(df["stage"] == "eval") & (df["status"] == "complete")]
    wide = ok.pivot_table(index="seed", columns="arm", values=metric, aggfunc="first")
    if treatment not in wide or baseline not in wide:
        return pd.DataFrame(columns=["seed", "treatment", "baseline"])
    out = wide[[treatment, baseline]].dropna().reset_index()
    out.columns = ["seed", "treatment", "baseline"]
    return out


def unpaired_seeds(df: pd.DataFrame, treatment: str, baseline: str) -> dict[int, str]:
    """Seeds of the two arms that could not form a pair, with the reason."""
    ev = df[(df["stage"] == "eval") & df["arm"].isin([treatment, baseline])]
    out = {}
    for seed, grp in ev.groupby("seed"):
        status = dict(zip(grp["arm"], grp["status"], strict=True))
        bad = {a: status.get(a, "missing") for a in (treatment, baseline)}
        bad = {a: s for a, s in bad.items() if s != "complete"}
        if bad:
            out[int(seed)] = ", ".join(f"{a} {s}" for a, s in bad.items())
    return out


def differences(pairs: pd.DataFrame, scale: Scale, direction: Direction) -> np.ndarray:
    """Per-seed paired differences, signed so that + is the claimed direction."""
    t, b = pairs["treatment"].to_numpy(float), pairs["baseline"].to_numpy(float)
    if scale is Scale.relative:
        if np.any(t <= 0) or np.any(b <= 0):
            raise ValueError("a relative (log-ratio) comparison needs positive values")
        d = np.log(t) - np.log(b)
    else:
        d = t - b
    return d if direction is Direction.increase else -d


@dataclass(frozen=True)
class EffectEstimate:
    effect: Effect
    protocol: str
    n: int
    mean: float  # analysis scale, + = claimed direction
    ci: Interval  # analysis scale
    claimed: float  # analysis scale
    margin: float  # analysis scale
    decision: Decision
    pairs: pd.DataFrame  # seed, treatment, baseline, diff (analysis scale)
    unpaired: dict[int, str]

    def shown(self, x: float) -> float:
        """An analysis-scale number in the claim's units (fraction or absolute)."""
        return from_analysis_scale(x, self.effect.scale, self.effect.direction)


def estimate_effect(
    df: pd.DataFrame, effect: Effect, protocol: str, claim_id: str
) -> EffectEstimate:
    """Paired estimate, CI and verdict of one effect in one protocol's records."""
    sub = df[df["protocol"] == protocol]
    pairs = paired_table(sub, effect.metric, effect.treatment, effect.baseline)
    claimed = to_analysis_scale(effect.size, effect.scale, effect.direction)
    margin = to_analysis_scale(effect.margin, effect.scale, Direction.increase)
    unpaired = unpaired_seeds(sub, effect.treatment, effect.baseline)
    try:
        d = differences(pairs, effect.scale, effect.direction)
    except ValueError as err:  # e.g. a zero accuracy on a log-ratio scale
        nan = np.full(len(pairs), math.nan)
        return EffectEstimate(
            effect,
            protocol,
            len(pairs),
            math.nan,
            Interval(math.nan, math.nan, "none"),
            claimed,
            margin,
            not_estimable(str(err)),
            pairs.assign(diff=nan),
            unpaired,
        )
    ci = confidence_interval(d, rng=rng_for(claim_id, effect.name, protocol))
    return EffectEstimate(
        effect=effect,
        protocol=protocol,
        n=len(d),
        mean=float(d.mean()) if len(d) else math.nan,
        ci=ci,
        claimed=claimed,
        margin=margin,
        decision=decide(ci.low, ci.high, claimed, margin),
        pairs=pairs.assign(diff=d),
        unpaired=unpaired,
    )


def arm_summary(df: pd.DataFrame, metric: str, claim_id: str, protocol: str) -> pd.DataFrame:
    """Per arm: n, mean, sd and CI of the metric over completed evaluation runs."""
    rows = []
    ok = df[(df["protocol"] == protocol) & (df["stage"] == "eval") & (df["status"] == "complete")]
    for arm, grp in ok.groupby("arm", sort=False):
        v = grp[metric].to_numpy(float)
        ci = confidence_interval(v, rng=rng_for(claim_id, "arm", protocol, str(arm), metric))
        rows.append(
            {
                "arm": arm,
                "n": len(v),
                "mean": v.mean(),
                "sd": v.std(ddof=1) if len(v) > 1 else math.nan,
                "ci_low": ci.low,
                "ci_high": ci.high,
            }
        )
    return pd.DataFrame(rows, columns=["arm", "n", "mean", "sd", "ci_low", "ci_high"])


def pooled_entropy(weight_vectors: list[list[float]]) -> float:
    """Entropy of the average of several weight vectors, divided by ln(len): the authors'
    'expert entropy' (vectors averaged over seeds, clipped at 1e-10)."""
    w = np.clip(np.mean(np.asarray(weight_vectors, float), axis=0), 1e-10, 1.0)
    return float(-np.sum(w * np.log(w)) / np.log(len(w))) if len(w) > 1 else math.nan
