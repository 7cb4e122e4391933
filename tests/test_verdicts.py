"""Verdict rules as hand-checkable tables, one test per rule."""

import math

import pytest

from replication import verdicts as v
from replication.verdicts import Verdict

C, M = 2.0, 0.5  # claimed size and margin
CONF, REF, INC = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    "low, high, verdict, label",
    [
        (0.6, 2.5, CONF, None),  # above the margin, claimed size inside
        (0.6, 2.0, CONF, None),  # U = c still counts as "not rejected"
        (0.6, 1.9, REF, "overstated"),  # real but smaller than claimed
        (-0.4, 0.4, REF, "no effect"),  # inside +-m
        (-3.0, -0.6, REF, "reversed"),  # below -m
        (-1.0, 1.0, REF, "claimed size rejected"),  # excludes c, spans -m..m
        (0.4, 2.5, INC, "high variance"),  # includes c and effects below m
        (math.nan, math.nan, INC, "no interval"),
    ],
)
def test_superiority(low, high, verdict, label):
    d = v.superiority(low, high, C, M)
    assert (d.verdict, d.label) == (verdict, label) and d.reason


def test_superiority_margin_must_be_below_claim():
    with pytest.raises(ValueError):
        v.superiority(0, 1, claimed=0.5, margin=0.5)


@pytest.mark.parametrize(
    "low, high, verdict",
    [
        (-0.006, 0.01, CONF),  # bound -0.007: the whole CI is above it
        (-0.02, -0.008, REF),
        (-0.01, 0.01, INC),
    ],
)
def test_non_inferiority(low, high, verdict):
    assert v.non_inferiority(low, high, bound=-0.007).verdict is verdict


@pytest.mark.parametrize(
    "low, high, tost, verdict",
    [
        (-0.01, 0.01, 0.001, CONF),
        (-0.01, 0.01, 0.2, INC),  # inside the bounds but TOST does not reject
        (0.03, 0.05, 0.9, REF),
        (-0.05, -0.03, 0.9, REF),
        (-0.01, 0.03, 0.3, INC),
    ],
)
def test_equivalence(low, high, tost, verdict):
    assert v.equivalence(low, high, margin=0.02, tost_p=tost, alpha=0.05).verdict is verdict


def test_compound_intersection_union():
    conf = v.superiority(0.6, 2.5, C, M)
    ref = v.superiority(-0.4, 0.4, C, M)
    inc = v.superiority(0.4, 2.5, C, M)
    assert v.compound([conf, conf], ["a", "b"]).verdict is CONF
    d = v.compound([conf, ref], ["a", "b"])
    assert d.verdict is REF and d.label == "part b"
    assert v.compound([conf, inc], ["a", "b"]).verdict is INC
    assert v.compound([inc, ref], ["a", "b"]).verdict is REF  # one refuted part is enough
    assert v.compound([v.unauditable(["x"]), ref], ["a", "b"]).verdict is Verdict.UNAUDITABLE


def test_frontier_rules():
    assert v.front("c", ["x"], []).verdict is REF
    assert v.front("c", [], ["y"]).verdict is INC
    assert v.front("c", [], []).verdict is CONF
    assert v.scalar_best("c", ["x"], ["y"]).verdict is REF
    assert v.scalar_best("c", [], []).label == "best"


def test_finality_and_multiplicity():
    conf = v.superiority(0.6, 2.5, C, M)
    assert conf.final and not v.superiority(0.4, 2.5, C, M).final
    assert v.underpowered(50, 20, "1 pt").final
    kept = v.after_multiplicity(conf, p_adjusted=0.01, threshold=0.025, k=3)
    assert kept is conf
    lost = v.after_multiplicity(conf, p_adjusted=0.04, threshold=0.025, k=3)
    assert (lost.verdict, lost.label) == (INC, "multiplicity") and not lost.final
    assert "3 comparisons" in lost.reason
