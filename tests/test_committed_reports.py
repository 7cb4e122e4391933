"""What the committed reports promise a reader (they are regenerated from the records)."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REPORTS = sorted(p for p in (REPO / "reports").glob("*.md") if p.stem in
                 {c.stem for c in (REPO / "claims").glob("*.yaml")})  # fmt: skip


def test_every_claim_has_a_committed_report():
    assert {p.stem for p in REPORTS} == {c.stem for c in (REPO / "claims").glob("*.yaml")}


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_a_report_starts_with_its_five_line_summary(path):
    lines = path.read_text().splitlines()
    start = lines.index("## Summary")
    assert start < 12  # right after the header
    bullets = lines[start + 2 : start + 7]
    labels = ["Claim", "Authors' figure", "Our faithful re-run", "Audit verdict", "Why"]
    assert [re.match(r"- \*\*(.+?):\*\*", b).group(1) for b in bullets] == labels


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_no_statistical_verdict_rests_on_a_degenerate_interval(path):
    for line in path.read_text().splitlines():
        if "(degenerate" in line:
            assert not re.search(r"\*\*(CONFIRMED|REFUTED)", line), line


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_a_faithful_metric_that_differs_from_the_audits_is_named(path):
    """A reader comparing the two columns must know when they measure different things."""
    from replication.report import find_claim

    claim = find_claim(path.stem, REPO / "claims")
    faithful = claim.protocols.get("faithful")
    metric = claim.effects[0].metric
    mapped = (faithful.metrics or {}).get(metric) if faithful is not None else None
    if "## Authors' figure, faithful re-run and audit" not in path.read_text() or not mapped:
        return
    assert f"The faithful re-run measures `{mapped}`" in path.read_text()


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_a_faithful_reference_run_is_compared_in_the_report(path):
    """A claim whose faithful protocol names the authors' own run (reference) says how far our
    re-run is from it, whatever kind its headline is (a compound headline used to drop it)."""
    from replication.report import find_claim

    claim = find_claim(path.stem, REPO / "claims")
    faithful = claim.protocols.get("faithful")
    if faithful is None or faithful.reference is None:
        return
    if not list((REPO / "runs" / claim.id / "faithful").rglob("record.json")):
        return  # not run yet: nothing to compare
    assert "**Our re-implementation vs the authors' own code.**" in path.read_text()
