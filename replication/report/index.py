"""reports/README.md: one row per claim with its headline verdict, BH across claims; counts
decided by construction and the A/A calibration claims in tables of their own."""

from __future__ import annotations

from pathlib import Path

from replication import records, workspace
from replication.claimfile import find_claim
from replication.claims import ClaimError
from replication.report import fmt
from replication.results import FAITHFUL, ClaimResults, analyse, headline_qs


def write_index(
    claims_dir: Path,
    runs_dir: Path,
    reports_dir: Path,
    max_seeds: int | None = None,
    known: dict[str, ClaimResults] | None = None,
    floors: list | None = None,
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
        results.append(analyse(claim, runs, max_seeds, problems, Path(runs_dir).as_posix(), floors))
    rows = []
    for res, q in zip(results, headline_qs(results), strict=True):
        if res.calibration:
            continue
        h = res.headline
        c = res.claim
        e = c.effects[0]
        faith = res.result(FAITHFUL, e.name)
        cells = [
            f"[{c.id}]({c.id}.md)",
            c.title,
            e.authors.text if e.authors else "n/a",
            _faithful(res, faith),
        ]
        if h is None:
            rows.append([*cells, "not run", "", "", ""])
            continue
        diff = "" if h.ci is None else f"{fmt.diff(h.shown(h.mean), e)} {fmt.ci(h)}"
        if h.by_construction:
            diff = f"{fmt.diff(h.shown(h.mean), e)} (every seed)"
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
                "our faithful re-run (CI when seeds allow)",
                "audit verdict",
                "audit difference (CI)",
                "paired seeds",
                "BH q",
            ],
            rows,
        ),
    ]
    counts = [
        [f"[{res.claim.id}]({res.claim.id}.md)", f"`{name}`", r.spec.metric, f"**{r.decision}**",
         fmt.diff(r.shown(r.mean), r.spec), fmt.claim_text(r.spec)]
        for res in results
        for p in res.protocols.values()
        for name, r in p.results.items()
        if r.by_construction
    ]  # fmt: skip
    if counts:
        out += [
            "",
            "## Counts and identities (arithmetic, not experiments)",
            "",
            "Comparisons whose arms give the same value in every seed (a count such as FLOPs "
            "by a table, or a property fixed by construction): no number of seeds can change "
            "them, so they carry no CI and no p-value and are left out of Holm and BH.",
            "",
            *fmt.table(
                ["claim", "comparison", "metric", "verdict", "value (every seed)", "claimed"],
                counts,
            ),
        ]
    out += _calibration(results)
    if skipped:
        out += ["", "Claim files left out (invalid; `make validate` says why):", ""]
        out += [f"- {line}" for line in skipped]
    path = Path(reports_dir) / "README.md"
    workspace.write_atomic(path, "\n".join(out) + "\n", reports_dir)
    return path, skipped


def _faithful(res: ClaimResults, faith) -> str:
    if faith is None:
        return "other arms" if FAITHFUL in res.protocols else "not run"
    if faith.ci is None or fmt.nan(faith.ci.low):  # one seed: no interval
        return "not run" if fmt.nan(faith.mean) else fmt.diff(faith.shown(faith.mean), faith.spec)
    return f"{fmt.diff(faith.shown(faith.mean), faith.spec)} {fmt.ci(faith)}"


def _calibration(results: list[ClaimResults]) -> list[str]:
    """A/A claims: a difference that cannot exist, so their verdicts must never be CONFIRMED;
    their floors are the run-to-run noise the real claims' effects are read against."""
    rows = [
        [f"[{res.claim.id}]({res.claim.id}.md)", f"`{f.effect}`", f.metric, f.device,
         f"**{res.result(f.protocol, f.effect).decision}**" if res.result(f.protocol, f.effect)
         else "not run", f.n, fmt.spread(f.sd, f.scale, f.metric),
         f"{fmt.diff(f.shown_mean, f)} [{fmt.diff(f.shown_low, f)}, {fmt.diff(f.shown_high, f)}]"]
        for res in results if res.calibration
        for f in res.own_floors
    ]  # fmt: skip
    if not rows:
        return []
    return [
        "",
        "## A/A calibration claims (the noise floor; not in BH)",
        "",
        "The same configuration as treatment and baseline, from independent seed streams "
        "(docs/noise-floor.md): the paired difference is run-to-run noise alone, so no verdict "
        "here may be CONFIRMED. Floor: the sd of the paired difference.",
        "",
        *fmt.table(
            [
                "claim",
                "comparison",
                "metric",
                "device",
                "verdict",
                "pairs",
                "floor (sd)",
                "mean difference [95% CI]",
            ],
            rows,
        ),
    ]
