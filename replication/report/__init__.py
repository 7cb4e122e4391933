"""Markdown verdict reports, rendered from run records only.

reports/<claim>.md (+ figures in reports/<claim>/) puts the authors' figure, our faithful
re-run and the audit side by side, gives each comparison's paired estimate, CI and verdict with
its reason, the looks of the sequential design, the parity receipt, provenance and cost.
reports/README.md indexes the claims, with Benjamini-Hochberg across them.
"""

from __future__ import annotations

from pathlib import Path

from replication import noise, records, workspace
from replication.claimfile import find_claim
from replication.claims import ClaimError
from replication.report import accounts, detail, evidence, floor, verdict
from replication.report.index import write_index
from replication.results import ClaimResults, all_floors, analyse

__all__ = ["ClaimResults", "analyse", "render", "write_index", "write_report"]


def render(res: ClaimResults, fig_dir: Path, rel: str) -> str:
    parts = [
        verdict.header(res),
        verdict.summary(res),
        verdict.verdict(res),
        verdict.looks(res),
        evidence.side_by_side(res),
        evidence.arms(res),
        detail.plots(res, fig_dir, rel),
        detail.loads(res, fig_dir, rel),
        detail.search(res, fig_dir, rel),
        detail.secondary(res),
        floor.noise(res),
        accounts.parity(res),
        evidence.checks(res),
        evidence.faithful_table(res),
        evidence.tuning(res),
        accounts.compute(res, rel),
        accounts.provenance(res),
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
    floors = floors_in(claims_dir, runs_dir, max_seeds)
    res = analyse(claim, runs, max_seeds, problems, Path(runs_dir).as_posix(), floors)
    path = Path(reports_dir) / f"{claim_id}.md"
    workspace.write_atomic(path, render(res, Path(reports_dir) / claim_id, claim_id), reports_dir)
    if runs:
        cost = Path(reports_dir) / claim_id / "cost.md"
        workspace.write_atomic(cost, accounts.cost(res), reports_dir)
    known = {claim_id: res}
    _, skipped = write_index(claims_dir, runs_dir, reports_dir, max_seeds, known, floors)
    return path, skipped


def floors_in(claims_dir: Path, runs_dir: Path, max_seeds: int | None = None) -> list:
    """The noise floors of the A/A claims in claims_dir, from their records in runs_dir
    (invalid claim files are the index's to name, so they are passed over here)."""
    aa = []
    for p in sorted(Path(claims_dir).glob("*.yaml")):
        try:
            claim = find_claim(p.stem, claims_dir)
        except ClaimError:
            continue
        if any(noise.is_aa(claim, e) for e in claim.effects):
            aa.append(claim)
    return all_floors(aa, {c.id: records.load(runs_dir, c.id)[0] for c in aa}, max_seeds)
