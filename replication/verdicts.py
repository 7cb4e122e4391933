"""Verdict rules, one function per rule (docs/statistics.md states them in prose).

Inputs are on the analysis scale and signed so that + is the claim's direction; [low, high]
is the CI of the mean paired difference at the look's level.

- superiority (claimed size c, margin m): CONFIRMED if low > m and high >= c; REFUTED if
  high < c: overstated (low > m), no effect (-m < low, high < m), reversed (high < -m), else
  claimed size rejected; otherwise INCONCLUSIVE.
- non_inferiority (bound b = -(cost + m)): CONFIRMED if low > b; REFUTED if high < b.
- equivalence (+-m): CONFIRMED if the CI lies inside (-m, m) and TOST rejects; REFUTED if the
  CI lies entirely outside; otherwise INCONCLUSIVE.
- compound (intersection-union): CONFIRMED only if every part is; REFUTED if any part is.
- frontier: see front() and scalar_best().
- UNAUDITABLE when parity fails or a required measurement is missing; INCONCLUSIVE
  (underpowered) when the projected seeds exceed n_max; a decision that does not survive the
  within-claim Holm correction becomes INCONCLUSIVE (multiplicity).
- a count, not an experiment: when every seed gives both arms the same value, no number of
  seeds can change the outcome, so it is labelled HOLDS / FAILS BY CONSTRUCTION (no CI, no
  p-value, outside Holm and BH) instead of CONFIRMED / REFUTED.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    CONFIRMED = "CONFIRMED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"
    UNAUDITABLE = "UNAUDITABLE"
    HOLDS = "HOLDS BY CONSTRUCTION"  # a count or identity meets the claim: arithmetic
    FAILS = "FAILS BY CONSTRUCTION"  # a count or identity misses it


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    label: str | None  # sub-label, e.g. "overstated", "underpowered"
    reason: str  # one plain sentence

    def __str__(self) -> str:
        return self.verdict.value + (f" ({self.label})" if self.label else "")

    @property
    def final(self) -> bool:
        """A decision more seeds cannot change."""
        return self.verdict is not Verdict.INCONCLUSIVE or self.label in FINAL_INCONCLUSIVE


FINAL_INCONCLUSIVE = ("underpowered", "not estimable")


def _nan(*xs: float) -> bool:
    return any(math.isnan(x) for x in xs)


NO_INTERVAL = "too few paired runs for an interval."


def no_interval() -> Decision:
    return Decision(Verdict.INCONCLUSIVE, "no interval", NO_INTERVAL)


def superiority(low: float, high: float, claimed: float, margin: float) -> Decision:
    if not 0 < margin < claimed:
        raise ValueError(f"need 0 < margin < claimed, got margin={margin}, claimed={claimed}")
    if _nan(low, high):
        return no_interval()
    if low > margin and high >= claimed:
        return Decision(
            Verdict.CONFIRMED,
            None,
            "the whole CI is above the margin and it still includes the claimed size.",
        )
    if high < claimed:
        return _refuted_superiority(low, high, margin)
    return Decision(
        Verdict.INCONCLUSIVE,
        "high variance",
        "the CI includes the claimed size and also effects below the margin.",
    )


def _refuted_superiority(low: float, high: float, margin: float) -> Decision:
    if high < -margin:
        return Decision(
            Verdict.REFUTED,
            "reversed",
            "the whole CI is below minus the margin: the baseline wins.",
        )
    if low > -margin and high < margin:
        return Decision(
            Verdict.REFUTED,
            "no effect",
            "the whole CI lies within plus or minus the margin: no difference that matters.",
        )
    if low > margin:
        return Decision(
            Verdict.REFUTED,
            "overstated",
            "there is a real effect, but the CI's upper end is below the claimed size.",
        )
    return Decision(
        Verdict.REFUTED,
        "claimed size rejected",
        "the CI's upper end is below the claimed size, though it cannot tell a small "
        "effect from none.",
    )


def non_inferiority(low: float, high: float, bound: float) -> Decision:
    """bound = -(|cost| + margin): the worst difference the claim allows, plus the margin."""
    if _nan(low, high):
        return no_interval()
    if low > bound:
        return Decision(
            Verdict.CONFIRMED,
            None,
            "the whole CI is above the allowed loss: no worse than claimed.",
        )
    if high < bound:
        return Decision(
            Verdict.REFUTED,
            "worse than claimed",
            "the whole CI is below the allowed loss: the cost is larger than claimed.",
        )
    return Decision(Verdict.INCONCLUSIVE, "high variance", "the CI straddles the allowed loss.")


def equivalence(low: float, high: float, margin: float, tost_p: float, alpha: float) -> Decision:
    """Equivalent within +-margin: the CI inside the bounds and the TOST p-value below alpha/2
    (each one-sided test at the level of the CI)."""
    if _nan(low, high):
        return no_interval()
    if -margin < low and high < margin and tost_p < alpha / 2:
        return Decision(
            Verdict.CONFIRMED,
            "equivalent",
            "the whole CI lies within plus or minus the margin (TOST).",
        )
    if low > margin or high < -margin:
        return Decision(
            Verdict.REFUTED,
            "not equivalent",
            "the whole CI lies outside the margin: the arms differ.",
        )
    return Decision(Verdict.INCONCLUSIVE, "high variance", "the CI crosses the margin.")


def by_construction(holds: bool, what: str) -> Decision:
    """Every seed gives each arm the same value (what: the values and the claim they meet or
    miss): arithmetic, decided without an interval."""
    return Decision(
        Verdict.HOLDS if holds else Verdict.FAILS,
        None,
        f"a count, not an experiment: every seed gives the same values ({what}), so no "
        "number of seeds can change the outcome.",
    )


def compound(parts: Sequence[Decision], names: Sequence[str]) -> Decision:
    """Intersection-union: every part must be confirmed; one refuted part refutes (a part
    that holds or fails by construction counts as confirmed or refuted)."""
    as_stat = {Verdict.HOLDS: Verdict.CONFIRMED, Verdict.FAILS: Verdict.REFUTED}
    by = [(n, Decision(as_stat.get(d.verdict, d.verdict), d.label, d.reason)) for n, d in
          zip(names, parts, strict=True)]  # fmt: skip
    for verdict in (Verdict.UNAUDITABLE, Verdict.REFUTED):
        hit = [n for n, d in by if d.verdict is verdict]
        if hit:
            return Decision(
                verdict,
                f"part {', '.join(hit)}",
                f"part {', '.join(hit)} is {verdict.value.lower()}, so the trade-off "
                "as claimed does not hold.",
            )
    if all(d.verdict is Verdict.CONFIRMED for _, d in by):
        return Decision(Verdict.CONFIRMED, None, "every part of the trade-off is confirmed.")
    open_ = [n for n, d in by if d.verdict is not Verdict.CONFIRMED]
    return Decision(
        Verdict.INCONCLUSIVE, "high variance", f"part {', '.join(open_)} is not decided yet."
    )


def front(candidate: str, dominated_by: Sequence[str], unresolved: Sequence[str]) -> Decision:
    """Pareto front with CIs: REFUTED if another arm is better beyond the margin in both
    objectives; CONFIRMED if against every other arm the candidate is better beyond the
    margin in at least one; INCONCLUSIVE otherwise."""
    if dominated_by:
        return Decision(
            Verdict.REFUTED,
            "dominated",
            f"{', '.join(dominated_by)} beats {candidate} in both objectives, beyond the margin.",
        )
    if unresolved:
        return Decision(
            Verdict.INCONCLUSIVE,
            "high variance",
            f"against {', '.join(unresolved)} the CIs cannot exclude a tie or a loss "
            "in both objectives.",
        )
    return Decision(
        Verdict.CONFIRMED,
        "on the front",
        f"against every other arm {candidate} is better beyond the margin in at "
        "least one objective.",
    )


def scalar_best(candidate: str, beaten_by: Sequence[str], unresolved: Sequence[str]) -> Decision:
    """Best by the claim's scalar: CONFIRMED if better beyond the margin than every arm."""
    if beaten_by:
        return Decision(
            Verdict.REFUTED,
            "not the best",
            f"{', '.join(beaten_by)} has a better scalar, beyond the margin.",
        )
    if unresolved:
        return Decision(
            Verdict.INCONCLUSIVE,
            "high variance",
            f"against {', '.join(unresolved)} the scalar's CI includes a tie.",
        )
    return Decision(Verdict.CONFIRMED, "best", f"{candidate} has the best scalar of all arms.")


def unauditable(failures: Sequence[str]) -> Decision:
    return Decision(
        Verdict.UNAUDITABLE,
        "parity",
        "the comparison is not like for like: " + "; ".join(failures) + ".",
    )


def underpowered(n_needed: float, n_max: int, mde: str) -> Decision:
    need = "more than any feasible number" if math.isinf(n_needed) else f"about {n_needed:.0f}"
    return Decision(
        Verdict.INCONCLUSIVE,
        "underpowered",
        f"deciding would take {need} paired seeds (n_max = {n_max}); the smallest "
        f"difference {n_max} seeds can detect is {mde}.",
    )


def not_estimable(why: str) -> Decision:
    return Decision(Verdict.INCONCLUSIVE, "not estimable", f"no estimate: {why}.")


def after_multiplicity(decision: Decision, p_adjusted: float, threshold: float, k: int) -> Decision:
    """Keep a decision only if its Holm-adjusted one-sided p-value clears the threshold."""
    if math.isnan(p_adjusted) or p_adjusted < threshold:
        return decision
    return Decision(
        Verdict.INCONCLUSIVE,
        "multiplicity",
        f"the CI alone says {decision}, but it does not survive Holm's correction "
        f"over {k} comparisons (adjusted p = {p_adjusted:.3g}).",
    )
