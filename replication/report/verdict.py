"""The top of a claim report: header, summary, verdict tables and the sequential looks.

Each function takes the ClaimResults and returns markdown lines; every number comes from it.
"""

from __future__ import annotations

import math
from pathlib import Path

from replication.claims import Kind
from replication.report import fmt
from replication.report.energy import energy_splits
from replication.results import FAITHFUL, VERDICT_PROTOCOL, ClaimResults, Result

RULE = (
    "Verdict rules (analysis scale, + = the claimed direction; CI [L, U] at the look's "
    "level): superiority with claimed size c and margin m: CONFIRMED if L > m and U >= c, "
    "REFUTED if U < c (overstated if L > m, no effect if -m < L and U < m, reversed if "
    "U < -m), else INCONCLUSIVE; non-inferiority with allowed cost: CONFIRMED if L > -(cost "
    "+ m), REFUTED if U < -(cost + m); equivalence: CONFIRMED if the CI lies within +-m and "
    "TOST rejects, REFUTED if it lies outside; a compound claim needs every part. Relative "
    "and ratio claims are per-seed log-ratios. A decision must also survive Holm's "
    "correction over the claim's comparisons; UNAUDITABLE means a parity rule failed. A "
    "comparison whose arms give the same value in every seed (a count, e.g. FLOPs by the "
    "authors' table) is arithmetic, not an experiment: HOLDS or FAILS BY CONSTRUCTION, "
    "with no CI, outside Holm and the index's BH."
)

VERDICT_COLUMNS = {
    "name": "comparison",
    "question": "question",
    "kind": "kind",
    "metric": "metric",
    "n": "n",
    "diff": "difference",
    "ci": "CI",
    "claimed": "claimed",
    "margin": "margin",
    "holm": "Holm p (confirm / refute)",
    "verdict": "verdict",
    "why": "why",
}


def header(res: ClaimResults) -> list[str]:
    c, s = res.claim, res.claim.source
    out = [
        f"# {c.id}: {c.title}",
        "",
        f"> {c.quote.strip()}",
        "",
        f"- **Published in:** {s.post}",
        f"- **Authors' code:** {s.repo}, `{s.path}` at `{s.commit}`",
    ]
    if s.doc:
        out.append(f"- **Authors' document:** {s.doc}")
    if s.deviation:
        out.append(f"- **Not the source's setup:** {s.deviation}")
    out.append(f"- **Claim spec:** `{Path(c.path).as_posix()}`")
    out += data_lines(res)
    return [*out, ""]


def data_lines(res: ClaimResults) -> list[str]:
    """One line per dataset (provenance once), with each protocol's split sizes."""
    by_name: dict[str, list[str]] = {}
    first: dict[str, dict] = {}
    for proto in [p for p in res.claim.protocols if p in res.data]:
        d = res.data[proto]
        name = str(d.get("name", "?"))
        first.setdefault(name, d)
        sizes = "/".join(f"{d.get(k) or 0:,}" for k in ("n_train", "n_val", "n_test"))
        by_name.setdefault(name, []).append(f"{proto} {sizes}")
    return [
        f"- **Data, {name}:** source {d.get('source', '')}; license {d.get('license', '')}; "
        f"sha256 `{str(d.get('sha256', ''))[:16]}...` (data/README.md); train/val/test "
        f"examples: {'; '.join(by_name[name])}"
        for name, d in first.items()
    ]


def summary(res: ClaimResults) -> list[str]:
    """Five lines a reviewer reads first: the claim, the authors' figure, our faithful
    re-run, the audit verdict with its CI and n, and the reason."""
    e, h = res.claim.effects[0], res.headline
    faith = res.result(FAITHFUL, e.name)
    return [
        "## Summary",
        "",
        f"- **Claim:** {e.question or res.claim.title}",
        f"- **Authors' figure:** {e.authors.text if e.authors else 'none stated'}",
        f"- **Our faithful re-run:** {_faithful(res, faith)}",
        f"- **Audit verdict:** {_estimate(h, 'paired seeds', bold=True)}",
        f"- **Why:** {h.decision.reason if h is not None else 'no audit records yet.'}",
        "",
    ]


def _faithful(res: ClaimResults, faith: Result | None) -> str:
    if faith is None and FAITHFUL in res.protocols:
        return "the authors' protocol does not run this comparison's arms."
    return _estimate(faith, "seeds")


def _estimate(r: Result | None, seeds: str, bold: bool = False) -> str:
    if r is None:
        return "not run"
    verdict = f"**{r.decision}**" if bold else str(r.decision)
    if r.ci is None or math.isnan(r.ci.low):
        shown = "" if math.isnan(r.mean) else f", {fmt.diff(r.shown(r.mean), r.spec)}"
        return f"{verdict}{shown} (n = {r.n})"
    level = f"{100 * r.ci.level:.4g}% CI"
    return (
        f"{verdict}, {fmt.diff(r.shown(r.mean), r.spec)} ({level} {fmt.ci(r)}, n = {r.n} {seeds})"
    )


def verdict(res: ClaimResults) -> list[str]:
    h = res.headline
    if h is None:
        return [
            "## Verdict",
            "",
            f"No `{VERDICT_PROTOCOL}` records yet: run `make replicate CLAIM={res.claim.id}`.",
            "",
        ]
    audit = res.protocols[VERDICT_PROTOCOL]
    out = ["## Verdict", ""]
    if not audit.finished:
        out += [
            f"**Audit incomplete**: the next look needs {audit.next_look} seeds and only "
            f"{audit.seeds_recorded} are recorded; run `make replicate "
            f"CLAIM={res.claim.id}` to finish it. Verdicts below are provisional.",
            "",
        ]
    out += [f"**{h.decision}** on the headline comparison: {fmt.describe(h)}", ""]
    for name in res.audits:
        proto = res.claim.protocols[name]
        if not any(e.protocol == name for e in res.claim.effects):
            continue
        out += [f"### `{name}`", "", proto.description.strip(), ""]
        p = res.protocols.get(name)
        if p is None:
            gpu = proto.device == "cuda"
            hint = ": run it with `BUDGET=gpu` on a GPU machine)." if gpu else ")."
            out += [f"Not run yet (device `{proto.device}`{hint}", ""]
            continue
        if not p.finished and name != VERDICT_PROTOCOL:  # the headline's is said above
            out += [_incomplete(res.claim.id, proto, p), ""]
        rows = [row for eff_name, r in p.results.items() for row in _verdict_rows(eff_name, r, res)]
        out += fmt.table_of(VERDICT_COLUMNS, rows) + [""]
        out += [
            f"- `{n}`: seeds without a complete pair: {r.unpaired}"
            for n, r in p.results.items()
            if r.unpaired
        ]
        out += energy_splits(p.results)
    return [*out, RULE, ""]


def _incomplete(claim_id: str, proto, p) -> str:
    """Why a protocol's table is empty or provisional, and the command that finishes it."""
    profile = "gpu" if proto.device == "cuda" else "long" if proto.long else "default"
    state = "verdicts below are provisional" if p.n_used else "no verdict before the first look"
    return (
        f"**Incomplete**: {p.seeds_recorded} of the {p.next_look} paired seeds the next look "
        f"needs are recorded, so {state}; `make replicate CLAIM={claim_id} BUDGET={profile}` "
        "finishes it."
    )


def _verdict_rows(name: str, r: Result, res: ClaimResults) -> list[dict]:
    eff = next(e for e in res.claim.effects if e.name == name)
    c = r.spec
    row = {
        "name": f"`{name}`",
        "question": eff.question + (_best_of(c) if eff.best_of else ""),
        "kind": c.kind.value,
        "metric": c.metric or "",
        "n": r.n,
        "verdict": f"**{r.decision}**",
        "why": r.decision.reason,
    }
    if c.kind is Kind.frontier or (r.ci is None and not r.parts):
        if not math.isnan(r.mean):  # a count: its one value, and the claim it is held to
            row |= {"diff": fmt.diff(r.shown(r.mean), c), "claimed": fmt.claim_text(c)}
        return [row]
    row["holm"] = f"{fmt.pvalue(r.p_confirm_adj)} / {fmt.pvalue(r.p_refute_adj)}"
    if c.kind is Kind.compound:
        rows = [row | {"kind": "compound", "metric": ""}]
        for i, p in enumerate(r.parts):
            rows.append(_numbers(p) | {
                "name": f"  part {i + 1}", "kind": p.spec.kind.value, "metric": p.spec.metric,
                "n": p.n, "verdict": str(p.decision), "why": p.decision.reason,
            })  # fmt: skip
        return rows
    ci = f"{fmt.ci(r)} ({r.ci.method}, {100 * r.ci.level:.4g}%)"
    return [row | _numbers(r) | {"ci": ci}]


def _best_of(c) -> str:
    return f" (each side at its best implementation: {c.treatment} vs {c.baseline})"


def _numbers(r: Result) -> dict:
    c = r.spec
    return {
        "diff": fmt.diff(r.shown(r.mean), c),
        "ci": fmt.ci(r),
        "claimed": fmt.claim_text(c),
        "margin": fmt.margin(c) + (f" ({r.energy_method})" if r.energy_method else ""),
    }


def looks(res: ClaimResults) -> list[str]:
    """The sequential design: looks, seeds used, and what stopping early saved."""
    out = []
    for name, p in res.protocols.items():
        proto = res.claim.protocols[name]
        d = p.design
        if proto.sequential is None:
            continue
        arms = len(proto.arms)
        used_runs, fixed_runs = p.n_used * arms, d.n_max * arms
        out += [
            f"## Seeds and looks ({name})",
            "",
            f"Looks at {d.looks} paired seeds (n_max = {d.n_max}); alpha = {d.alpha:.4g} "
            f"({_alpha_note(res)}) split evenly over the {len(d.looks)} looks (Bonferroni), so "
            f"each look uses "
            f"{100 * d.level:.4g}% CIs and one-sided tests at {d.alpha_look / 2:.4g}. After "
            f"each look a power analysis (statsmodels TTestPower, observed spread, power "
            f"{d.power}) projects the seeds each open comparison needs; beyond n_max it "
            f"stops as INCONCLUSIVE (underpowered).",
            "",
        ]
        hist = p.history
        if len(hist):
            wide = hist.pivot(index=["look", "n"], columns="effect", values="decision")
            wide = wide[[e.name for e in res.claim.effects if e.name in wide]]
            rows = [
                [look, n, *vals]
                for (look, n), vals in zip(wide.index, wide.to_numpy(), strict=True)
            ]
            out += fmt.table(["look", "seeds", *wide.columns], rows) + [""]
        saved = fixed_runs - used_runs
        per_run = res.receipt.flops_per_run.get(name, math.nan)
        flops = "" if math.isnan(per_run) else f" and about {saved * per_run:.3g} training FLOPs"
        out += [
            f"Seeds used: {p.n_used} of {d.n_max} ({used_runs} evaluation runs instead of "
            f"{fixed_runs} for a fixed n_max design: {saved} runs{flops} saved).",
            "",
        ]
        proj = [
            {
                "name": f"`{ename}`",
                "look": r.look,
                "confirm": _n(r.n_confirm),
                "refute": _n(r.n_refute),
                "mde": fmt.magnitude(r.shown(r.mde), r.spec),
            }
            for ename, r in p.results.items()
            if r.ci is not None
        ]
        if proj:
            out += [
                "Power projection at the deciding look (seeds needed to confirm / refute at "
                "the observed mean and spread) and the smallest difference n_max seeds can "
                "detect:",
                "",
            ]
            columns = {
                "name": "comparison",
                "look": "decided at seeds",
                "confirm": "n to confirm",
                "refute": "n to refute",
                "mde": f"detectable at n = {d.n_max}",
            }
            out += fmt.table_of(columns, proj) + [""]
    return out


def _alpha_note(res: ClaimResults) -> str:
    k = len(res.audits)
    return "the claim's 0.05" if k == 1 else f"the claim's 0.05 split over its {k} audits"


def _n(x: float) -> str:
    return "never" if math.isinf(x) else f"{math.ceil(x)}"
