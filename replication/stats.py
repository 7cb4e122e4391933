"""Statistics over paired runs: differences, intervals, tests, power, multiplicity.

Pure functions over arrays and the DataFrame of records.to_frame() (one row per run; columns
protocol, arm, seed, stage, status and one per metric). Every test, interval, power figure and
correction comes from scipy.stats or statsmodels. The replicate is one full training run:
pairs are formed by seed, never by evaluation batch. Bootstrap randomness comes from a
generator seeded by strings (claim id, effect, protocol), so re-rendered reports are
byte-identical.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st
from scipy.optimize import brentq
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from replication.claims import Direction, Scale

MIN_SKEW_N = 3  # pairs; below this no skewness can be estimated and the interval is t alone


def rng_for(*keys: str) -> np.random.Generator:
    """A generator seeded by the given strings (claim id, effect, protocol, ...)."""
    digest = hashlib.sha256("/".join(keys).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str  # "t" | "t ∪ Hall" | "degenerate" | "none"
    level: float = 0.95


def confidence_interval(d: np.ndarray, *, level: float = 0.95) -> Interval:
    """Two-sided CI of the mean of d: the union of the Student-t interval and Hall's (1992)
    skewness-corrected t interval (the wider bound on each side).

    t alone misses up to twice its nominal rate at the levels the looks use when the
    differences are skewed; Hall's alone under-covers heavy tails. The union holds both
    (reports/calibration.md). Closed form, so a re-rendered report is byte-identical.
    """
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return Interval(math.nan, math.nan, "none", level)
    if np.all(d == d[0]):
        return Interval(float(d[0]), float(d[0]), "degenerate", level)
    t = st.ttest_1samp(d, 0.0).confidence_interval(level)
    if len(d) < MIN_SKEW_N:
        return Interval(float(t.low), float(t.high), "t", level)
    lo, hi = hall_interval(d, level)
    return Interval(float(min(t.low, lo)), float(max(t.high, hi)), "t ∪ Hall", level)


# Hall's transformation of the studentised mean, W = (mean - mu) / s:
#   g(W) = W + gW^2/3 + g^2 W^3/27 = ((1 + gW/3)^3 - 1) / g,   T = sqrt(n) (g(W) + g/(6n)),
# with g the sample skewness; T is close to t(n-1) even when the data are skewed. g is
# monotone, so the interval and the one-sided tests invert it exactly. No scipy or
# statsmodels function computes it (Hall 1992, JRSS B 54:221; Zhou & Dinh 2005).


def skewness(d: np.ndarray) -> float:
    """Sample skewness m3 / s^3 (s with ddof 1), the estimate Hall's interval uses."""
    d = np.asarray(d, dtype=float)
    s = d.std(ddof=1)
    return float(np.mean((d - d.mean()) ** 3) / s**3) if s > 0 else 0.0


def _g(w: float, g: float) -> float:
    return w + g * w**2 / 3 + g**2 * w**3 / 27


def _g_inv(y: float, g: float) -> float:
    return y if abs(g) < 1e-12 else float(3 * (np.cbrt(1 + g * y) - 1) / g)


def hall_interval(d: np.ndarray, level: float) -> tuple[float, float]:
    n, m, s, g = len(d), float(np.mean(d)), float(np.std(d, ddof=1)), skewness(d)
    q = float(st.t.ppf(1 - (1 - level) / 2, n - 1))
    shift = g / (6 * n)
    return m - s * _g_inv(q / math.sqrt(n) - shift, g), m - s * _g_inv(-q / math.sqrt(n) - shift, g)


def _hall_p(d: np.ndarray, threshold: float, alternative: str) -> float:
    n, m, s, g = len(d), float(np.mean(d)), float(np.std(d, ddof=1)), skewness(d)
    t = math.sqrt(n) * (_g((m - threshold) / s, g) + g / (6 * n))
    return float(st.t.sf(t, n - 1) if alternative == "greater" else st.t.cdf(t, n - 1))


def p_greater(d: np.ndarray, threshold: float) -> float:
    """One-sided p-value of H0: mean(d) <= threshold: the larger of the t-test's and Hall's,
    so it is below alpha/2 exactly when the union interval's lower end is above threshold."""
    return _one_sided(d, threshold, "greater")


def p_less(d: np.ndarray, threshold: float) -> float:
    """One-sided p-value of H0: mean(d) >= threshold (as p_greater, mirrored)."""
    return _one_sided(d, threshold, "less")


def _one_sided(d: np.ndarray, threshold: float, alternative: str) -> float:
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return math.nan
    if np.all(d == d[0]):  # no spread: the data sit on one side of the threshold for sure
        above = d[0] > threshold if alternative == "greater" else d[0] < threshold
        return 0.0 if above else 1.0
    p = float(st.ttest_1samp(d, threshold, alternative=alternative).pvalue)
    return max(p, _hall_p(d, threshold, alternative)) if len(d) >= MIN_SKEW_N else p


def tost_p(treatment: np.ndarray, baseline: np.ndarray, bound: float, log: bool) -> float:
    """TOST p-value (statsmodels ttost_paired) for |mean(T - B)| < bound on the analysis
    scale. With `log`, the test runs on log values and bound = log(1 + margin) becomes the
    ratio bounds 1/(1 + margin) < T/B < 1 + margin."""
    t, b = np.asarray(treatment, float), np.asarray(baseline, float)
    if len(t) < 2:
        return math.nan
    d = (np.log(t) - np.log(b)) if log else (t - b)
    if np.all(d == d[0]):
        return 0.0 if abs(d[0]) < bound else 1.0
    if log:
        p, _, _ = ttost_paired(t, b, math.exp(-bound), math.exp(bound), transform=np.log)
    else:
        p, _, _ = ttost_paired(t, b, -bound, bound)
    return float(p)


def n_required(distance: float, sd: float, alpha: float, power: float, skew: float = 0.0) -> float:
    """Pairs a one-sided test at `alpha` needs to detect `distance` with `power`: the larger
    of the t-test's (statsmodels TTestPower) and, for differences of skewness `skew` (in
    the direction tested), Hall's test's, since the interval needs both. inf when the
    distance is not positive. A skew against the test costs seeds that normal theory
    does not see (about 22 instead of 17 pairs at skewness -1: reports/calibration.md)."""
    if not distance > 0:
        return math.inf
    if sd == 0:
        return 2.0
    es = distance / sd
    n = _n_t(es, alpha, power)
    if abs(skew) > 1e-12 and math.isfinite(n):
        n = max(n, _n_hall(es, skew, alpha, power))
    return n


def _n_t(es: float, alpha: float, power: float) -> float:
    if TTestPower().power(effect_size=es, nobs=2, alpha=alpha, alternative="larger") >= power:
        return 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no root below the search bound: treat as infeasible
        try:
            n = TTestPower().solve_power(
                effect_size=es, alpha=alpha, power=power, alternative="larger"
            )
        except (ValueError, RuntimeError):
            return math.inf
    n = float(np.asarray(n).item())
    return n if math.isfinite(n) else math.inf


def hall_power(n: float, es: float, skew: float, alpha: float) -> float:
    """Power of Hall's one-sided test at `alpha` with n pairs, standardised effect es and
    skewness `skew`: Hall's statistic at the truth is ~ t(n-1), so the test rejects when it
    exceeds the image of the critical value shifted by es."""
    q = float(st.t.ppf(1 - alpha, n - 1))
    w = _g_inv(q / math.sqrt(n) - skew / (6 * n), skew) - es
    return float(st.t.sf(math.sqrt(n) * (_g(w, skew) + skew / (6 * n)), n - 1))


def _n_hall(es: float, skew: float, alpha: float, power: float) -> float:
    def short(n: float) -> float:
        return power - hall_power(n, es, skew, alpha)

    if short(2.0) <= 0:
        return 2.0
    hi = 4.0
    while short(hi) > 0:
        if hi > 1e7:
            return math.inf
        hi *= 2
    return float(brentq(short, hi / 2 if hi > 4 else 2.0, hi, xtol=1e-3))


def detectable(n: int, sd: float, alpha: float, power: float) -> float:
    """Smallest difference a one-sided t-test at `alpha` detects with `power` at n pairs."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    d = TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="larger")
    return float(np.asarray(d).item()) * sd


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (method passed explicitly: statsmodels defaults to Holm-Sidak);
    NaNs pass through."""
    return _adjust(pvalues, "holm")


def benjamini_hochberg(pvalues: list[float]) -> list[float]:
    return _adjust(pvalues, "fdr_bh")


def _adjust(pvalues: list[float], method: str) -> list[float]:
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), math.nan)
    ok = ~np.isnan(p)
    if ok.sum() == 1:  # a family of one needs no adjustment (and multipletests is slow)
        out[ok] = p[ok]
    elif ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return [float(x) for x in out]


def cohens_dz(d: np.ndarray) -> float:
    """Standardised mean of paired differences (Cohen's d_z)."""
    d = np.asarray(d, dtype=float)
    sd = d.std(ddof=1) if len(d) > 1 else math.nan
    return float(d.mean() / sd) if sd and math.isfinite(sd) else math.nan


def prob_improvement(
    treatment: np.ndarray,
    baseline: np.ndarray,
    better_high: bool,
    *,
    rng: np.random.Generator,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """P(a treatment run beats a baseline run) = Mann-Whitney U / (n_t n_b), ties counted
    half (rliable's probability of improvement), with a percentile bootstrap CI over seeds
    (pairs resampled together). Returns (p, low, high)."""
    t, b = np.asarray(treatment, float), np.asarray(baseline, float)
    if not better_high:
        t, b = -t, -b
    if len(t) < 2:
        return math.nan, math.nan, math.nan

    def stat(x, y, axis=-1):
        x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
        gt = (x[..., :, None] > y[..., None, :]).mean(axis=(-1, -2))
        eq = (x[..., :, None] == y[..., None, :]).mean(axis=(-1, -2))
        return gt + 0.5 * eq

    point = float(stat(t, b))
    if np.all(t == t[0]) and np.all(b == b[0]):
        return point, point, point
    ci = st.bootstrap(
        (t, b),
        stat,
        paired=True,
        vectorized=True,
        method="percentile",
        n_resamples=2000,
        confidence_level=level,
        rng=rng,
    ).confidence_interval
    return point, float(ci.low), float(ci.high)


# ------------------------------------------------------------------ pairing


def paired_table(df: pd.DataFrame, metric: str, treatment: str, baseline: str) -> pd.DataFrame:
    """One row per seed with columns seed, treatment, baseline (the metric of each arm).

    Only evaluation runs that completed; seeds where either arm is missing or did not
    complete are dropped here and listed by unpaired_seeds().
    """
    cols = ["seed", "treatment", "baseline"]
    if metric not in df:
        return pd.DataFrame(columns=cols)
    ok = df[(df["stage"] == "eval") & (df["status"] == "complete")]
    wide = ok.pivot_table(index="seed", columns="arm", values=metric, aggfunc="first")
    if treatment not in wide or baseline not in wide:
        return pd.DataFrame(columns=cols)
    out = wide[[treatment, baseline]].dropna().reset_index()
    out.columns = cols
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


def differences(pairs: pd.DataFrame, scale: Scale, direction: Direction | None) -> np.ndarray:
    """Per-seed paired differences on the analysis scale, + = the claimed direction.

    absolute: T - B; relative and ratio: log(T) - log(B); negated for a claimed decrease.
    """
    t, b = pairs["treatment"].to_numpy(float), pairs["baseline"].to_numpy(float)
    if scale is Scale.absolute:
        d = t - b
    else:
        if np.any(t <= 0) or np.any(b <= 0):
            raise ValueError(f"a {scale.value} (log-ratio) comparison needs positive values")
        d = np.log(t) - np.log(b)
    return -d if direction is Direction.decrease else d


def arm_summary(df: pd.DataFrame, metric: str, claim_id: str, protocol: str) -> pd.DataFrame:
    """Per arm: n, mean, sd and 95% CI of the metric over completed evaluation runs."""
    rows = []
    ok = df[(df["protocol"] == protocol) & (df["stage"] == "eval") & (df["status"] == "complete")]
    for arm, grp in ok.groupby("arm", sort=False):
        v = grp[metric].to_numpy(float) if metric in grp else np.array([])
        v = v[~np.isnan(v)]
        ci = confidence_interval(v)
        rows.append(
            {
                "arm": arm,
                "n": len(v),
                "mean": v.mean() if len(v) else math.nan,
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
