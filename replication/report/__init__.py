"""Markdown verdict reports, rendered from run records only.

reports/<claim>.md (+ figures in reports/<claim>/) puts the authors' figure, our faithful
re-run and the audit side by side, gives each comparison's paired estimate, CI and verdict with
its reason, the looks of the sequential design, the parity receipt, provenance and cost.
reports/README.md indexes the claims, with Benjamini-Hochberg across them.
"""

from __future__ import annotations

from pathlib import Path

from replication import records, workspace
from replication.claimfile import find_claim
from replication.claims import ClaimError
from replication.report import fmt, sections
from replication.report.results import FAITHFUL, ClaimResults, analyse
from replication.stats import benjamini_hochberg

__all__ = ["ClaimResults", "analyse", "render", "write_index", "write_report"]


def render(res: ClaimResults, fig_dir: Path, rel: str) -> str:
    parts = [
        sections.header(res),
        sections.verdict(res),
        sections.looks(res),
        sections.side_by_side(res),
        sections.arms(res),
        sections.plots(res, fig_dir, rel),
        sections.secondary(res),
        sections.parity(res),
        sections.checks(res),
        sections.faithful_table(res),
        sections.tuning(res),
        sections.compute(res, rel),
        sections.provenance(res),
    ]
    return "\n".join(line for part in parts for line in part).rstrip() + "\n"


def write_report(
    claim_id: str, claims_dir: Path, runs_dir: Path, reports_dir: Path, max_seeds: int | None = None
) -> tuple[Path, list[str]]:
    """reports_dir/<claim>.md, its figures and cost.md, and the index; every file written
    atomically under reports_dir. Returns the report's path and the claim files the index
    had to leave out (invalid), one line each."""
    claim = find_claim(claim_id, claims_dir)
    runs, problems = records.load(runs_dir, claim_id)
    res = analyse(claim, runs, max_seeds, problems, runs_dir=Path(runs_dir).as_posix())
    path = Path(reports_dir) / f"{claim_id}.md"
    workspace.write_atomic(path, render(res, Path(reports_dir) / claim_id, claim_id), reports_dir)
    if runs:
        cost = Path(reports_dir) / claim_id / "cost.md"
        workspace.write_atomic(cost, sections.cost(res), reports_dir)
    _, skipped = write_index(claims_dir, runs_dir, reports_dir, max_seeds, known={claim_id: res})
    return path, skipped


def write_index(
    claims_dir: Path,
    runs_dir: Path,
    reports_dir: Path,
    max_seeds: int | None = None,
    known: dict[str, ClaimResults] | None = None,
) -> tuple[Path, list[str]]:
    """One row per valid claim; BH (q = 0.05) over the claims' headline confirmation
    p-values. `known` holds results already computed (by write_report), so they are not
    redone. An invalid claim file is left out and named below the table (and returned)."""
    results, skipped = [], []
    for p in sorted(Path(claims_dir).glob("*.yaml")):
        if p.stem in (known or {}):
            results.append(known[p.stem])
            continue
        try:
            claim = find_claim(p.stem, claims_dir)
        except ClaimError as err:
            skipped.append(str(err))
            continue
        runs, problems = records.load(runs_dir, p.stem)
        results.append(analyse(claim, runs, max_seeds, problems, Path(runs_dir).as_posix()))
    heads = [r.headline for r in results]
    qs = benjamini_hochberg([h.p_confirm if h is not None else float("nan") for h in heads])
    rows = []
    for res, h, q in zip(results, heads, qs, strict=True):
        c = res.claim
        e = c.effects[0]
        faith = res.result(FAITHFUL, e.name)
        cells = [
            f"[{c.id}]({c.id}.md)",
            c.title,
            e.authors.text if e.authors else "n/a",
            "not run"
            if faith is None or faith.ci is None
            else f"{fmt.diff(faith.shown(faith.mean), e)} {fmt.ci(faith)}",
        ]
        if h is None:
            rows.append([*cells, "not run", "", "", ""])
            continue
        diff = "" if h.ci is None else f"{fmt.diff(h.shown(h.mean), e)} {fmt.ci(h)}"
        rows.append([*cells, f"**{h.decision}**", diff, h.n, fmt.pvalue(q)])
    out = [
        "# Claim verdicts",
        "",
        "One row per claim in `claims/`. The verdict is the audit protocol's, on the headline "
        "comparison, judged against the claimed size (each report lists every comparison). "
        "BH q: Benjamini-Hochberg across claims of the one-sided p-value behind a "
        "confirmation (a CONFIRMED claim holds at a 5% false discovery rate if q < 0.05).",
        "",
        *fmt.table(
            [
                "claim",
                "title",
                "authors' figure",
                "our faithful re-run (CI)",
                "audit verdict",
                "audit difference (CI)",
                "paired seeds",
                "BH q",
            ],
            rows,
        ),
    ]
    if skipped:
        out += ["", "Claim files left out (invalid; `make validate` says why):", ""]
        out += [f"- {line}" for line in skipped]
    path = Path(reports_dir) / "README.md"
    workspace.write_atomic(path, "\n".join(out) + "\n", reports_dir)
    return path, skipped
