"""Verdicts against the claimed size (../shared/research/anchors.md §8).

Inputs are on the analysis scale and signed so that + is the claim's direction: the 95% CI
[low, high] of the mean paired difference, the claimed size c and the margin m (0 < m < c),
the smallest difference that matters.

- CONFIRMED: low > m and high >= c (a real effect, and the claimed size is not rejected).
- REFUTED: high < c, labelled *overstated* (low > m), *no effect* (-m < low and high < m),
  *reversed* (high < -m), else *claimed size rejected*.
- INCONCLUSIVE: otherwise (the CI holds both the claimed size and effects below the margin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    CONFIRMED = "CONFIRMED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    label: str | None  # the REFUTED sub-label, or "underpowered" for INCONCLUSIVE
    reason: str  # one plain sentence

    def __str__(self) -> str:
        return self.verdict.value + (f" ({self.label})" if self.label else "")


def decide(low: float, high: float, claimed: float, margin: float) -> Decision:
    if not (0 < margin < claimed):
        raise ValueError(f"need 0 < margin < claimed, got margin={margin}, claimed={claimed}")
    if math.isnan(low) or math.isnan(high):
        return Decision(Verdict.INCONCLUSIVE, "no interval", "too few paired runs for a CI.")
    if low > margin and high >= claimed:
        return Decision(
            Verdict.CONFIRMED,
            None,
            "the whole CI is above the margin and it still includes the claimed size.",
        )
    if high < claimed:
        return _refuted(low, high, margin)
    return Decision(
        Verdict.INCONCLUSIVE,
        "underpowered",
        "the CI is too wide: it includes the claimed size and also effects below the margin.",
    )


def not_estimable(why: str) -> Decision:
    return Decision(Verdict.INCONCLUSIVE, "not estimable", f"no estimate: {why}.")


def _refuted(low: float, high: float, margin: float) -> Decision:
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
        "the CI's upper end is below the claimed size, though it cannot tell a small effect "
        "from none.",
    )
