"""The evidence of a claim report: authors vs faithful vs audit, why they differ, every arm,
the claim's secondary numbers, the faithful run per seed and the tuning grids.

Each function takes the ClaimResults and returns markdown lines; every number comes from it.
"""

from __future__ import annotations

from replication.metrics import METRICS
from replication.report import fmt
from replication.report.energy import energy_splits, record_tables
from replication.report.fronts import frontier_side_by_side
from replication.results import FAITHFUL, VERDICT_PROTOCOL, ClaimResults
from replication.tuning import trial_value


def side_by_side(res: ClaimResults) -> list[str]:
    """Authors / faithful / audit for the headline; a compound headline part by part."""
    h = res.headline
    if h is not None and h.frontier is not None:
        why = [*why_faithful(res), *why_audit(res)]
        return [*frontier_side_by_side(res), "### Why the numbers differ", "", *why, ""]
    if h is None or (not h.parts and h.ci is None and fmt.nan(h.mean)):  # nothing estimated
        return []
    e = res.claim.effects[0]
    faith = res.result(FAITHFUL, e.name)
    out = ["## Authors' figure, faithful re-run and audit", ""]
    if not h.parts:
        out += _side_table(res, e, faith, h)
    for i, part in enumerate(h.parts):
        f = faith.parts[i] if faith is not None and len(faith.parts) > i else None
        out += [f"Part {i + 1} ({part.spec.kind.value} on `{part.spec.metric}`):", ""]
        out += _side_table(res, e, f, part) + [""]
    if h.parts:
        faith_says = "not run" if faith is None else f"{faith.decision} (authors' protocol)"
        out += [f"Overall: faithful re-run {faith_says}; audit **{h.decision}**.", ""]
    return [*out, "", "### Why the numbers differ", "", *why_faithful(res), *why_audit(res), ""]


def _side_table(res: ClaimResults, e, faith, h) -> list[str]:
    c = h.spec
    faith_metric = faith.spec.metric if faith is not None else res.faithful_metric or c.metric
    out = []
    if faith_metric != c.metric:
        out += [
            f"The faithful re-run measures `{faith_metric}`, the authors' metric; the audit "
            f"measures `{c.metric}`.",
            "",
        ]
    rows = []
    figure = res.claim.authors_figure(e, c.metric)
    for role in ("treatment", "baseline"):
        arm = getattr(e, role)
        authors = getattr(figure, role) if figure else None
        cells = [f"{arm}", "n/a" if authors is None else fmt.value(authors, faith_metric)]
        for proto, r, metric in ((FAITHFUL, faith, faith_metric), (VERDICT_PROTOCOL, h, c.metric)):
            n = r.look if r is not None else None  # the seeds the comparison was decided on
            m = res.arm_stats(proto, metric, n).get(arm) if proto in res.protocols else None
            cells.append(
                "not run"
                if m is None
                else f"{fmt.value(m['mean'], metric)} (sd {fmt.value(m['sd'], metric)})"
            )
        rows.append(cells)
    diffs = ["difference", figure.text if figure else "n/a"]
    for r in (faith, h):
        diffs.append("not run" if r is None else f"{fmt.diff(r.shown(r.mean), c)} {fmt.ci(r)}")
    rows.append(diffs)
    rows.append(
        [
            "verdict at the claimed size",
            f"claimed {fmt.claim_text(c)}",
            "n/a" if faith is None else f"{faith.decision} (authors' protocol)",
            f"**{h.decision}**",
        ]
    )
    rows.append(
        [
            "paired seeds",
            str(len(res.claim.protocols[FAITHFUL].seeds)),
            "n/a" if faith is None else str(faith.n),
            str(h.n),
        ]
    )
    return out + fmt.table(["", "authors", "our faithful re-run", "audit (the verdict)"], rows)


def why_faithful(res: ClaimResults) -> list[str]:
    """Our faithful re-run against the authors' figure and any re-run of their own code."""
    proto, e = res.claim.protocols.get(FAITHFUL), res.claim.effects[0]
    if proto is None or FAITHFUL not in res.protocols:
        return []
    metric = res.faithful_metric
    n = res.protocols[FAITHFUL].n_used
    means = res.arm_stats(FAITHFUL, metric) if (FAITHFUL, metric, n) in res.stats else {}
    out = []
    has_values = e.authors and e.authors.treatment is not None and e.authors.baseline is not None
    if e.metric and has_values and e.treatment in means and e.baseline in means:
        out.append(
            f"- **Authors vs our faithful re-run.** The authors report "
            f"{fmt.value(e.authors.treatment, metric)} vs "
            f"{fmt.value(e.authors.baseline, metric)}; re-running their protocol we get "
            f"{fmt.value(means[e.treatment]['mean'], metric)} vs "
            f"{fmt.value(means[e.baseline]['mean'], metric)} "
            f"({e.treatment} vs {e.baseline}, `{metric}`)."
        )
    ref = proto.reference
    if ref is not None and (FAITHFUL, ref.metric, n) in res.stats:  # a compound headline too
        means = res.arm_stats(FAITHFUL, ref.metric)
        gaps = [abs(means[a]["mean"] - v) for a, v in ref.values.items() if a in means]
        worst = max(gaps) if gaps else float("nan")
        verdict = (
            "matches it to four decimals in every arm"
            if worst < 5e-5
            else f"differs from it by up to {fmt.value(worst, ref.metric)}"
        )
        listed = ", ".join(f"{a} {fmt.value(v, ref.metric)}" for a, v in ref.values.items())
        out.append(
            f"- **Our re-implementation vs the authors' own code.** Reference: "
            f"{ref.text.strip()} Its arm means ({listed}); our faithful re-run {verdict}."
        )
    return out


def why_audit(res: ClaimResults) -> list[str]:
    """Facts computed from the records that separate the faithful and audit protocols."""
    out = []
    ceil = res.facts.test_ceiling
    if ceil.get(FAITHFUL, 1.0) < 1:
        out.append(
            f"- **Test set.** In the faithful split only "
            f"{fmt.value(ceil[FAITHFUL], 'test_ceiling')} of test rows belong to a "
            f"class present in training, so no model can score above that; in the "
            f"audit split that share is "
            f"{fmt.value(ceil.get(VERDICT_PROTOCOL, float('nan')), 'test_ceiling')}."
        )
    if res.facts.untrained:
        arms = sorted(res.facts.untrained)
        out.append(
            f"- **Parameters that never learn.** In {', '.join(arms)}, "
            f"{max(res.facts.untrained.values())} parameters received no gradient (measured "
            f"after training), so they stay as initialised."
        )
    for proto, table in res.tuning.items():
        listing = ", ".join(f"{a}: {t}" for a, t in sorted(table.chosen.items()))
        edge = table.edges
        warn = (
            f" At the edge of the grid, so the best value may lie outside it: {', '.join(edge)}."
            if edge
            else ""
        )
        out.append(
            f"- **Tuning ({proto}).** Each arm chose its own value on validation: {listing}.{warn}"
        )
    for name, proto in res.claim.protocols.items():
        out += [f"- *{name}:* {dev}" for dev in proto.deviations]
    return out


def arms(res: ClaimResults) -> list[str]:
    """Every arm's mean and CI, per protocol, on each metric its effects use.

    An arm appears under every metric it was measured on; one measured on none of them
    (a run that failed everywhere) appears under the first, as missing.
    """
    out = ["## Every arm (mean and 95% CI over the seeds used)", ""]
    for proto in res.protocols:
        metrics = res.metrics[proto]
        summs = {metric: res.arm_stats(proto, metric) for metric in metrics}
        for i, metric in enumerate(metrics):
            summ = summs[metric]
            shown = [
                arm
                for arm in res.claim.protocols[proto].arms
                if arm in summ or (i == 0 and not any(arm in s for s in summs.values()))
            ]
            rows = [
                [
                    arm,
                    "—"
                    if (m := summ.get(arm)) is None
                    else f"{fmt.value(m['mean'], metric)} [{fmt.value(m['ci_low'], metric)}, "
                    f"{fmt.value(m['ci_high'], metric)}]",
                    "—" if m is None else m["n"],
                ]
                for arm in shown
            ]
            if rows:
                out += [
                    f"`{proto}`, {metric}:",
                    "",
                    *fmt.table(["arm", "mean [95% CI]", "n"], rows),
                    "",
                ]
    return out


def checks(res: ClaimResults) -> list[str]:
    out = []
    for chk in res.claim.checks:
        out += [f'## Secondary claim: "{chk.text}"', "", chk.note.strip(), ""]
        pooled = METRICS[chk.metric].pooled_from is not None
        columns = {"protocol": "protocol", "arm": "arm"}
        columns |= {"pooled": "authors' statistic (seeds pooled)"} if pooled else {}
        columns |= {"stat": f"{chk.metric} per run, mean [95% CI]"}
        columns |= {m: f"{m}, mean" for m in chk.show}
        rows = []
        for row in res.checks[chk.name]:
            s = row.stat
            cells = {
                "protocol": row.protocol,
                "arm": row.arm,
                "pooled": "n/a" if fmt.nan(row.pooled) else f"{row.pooled:.3f}",
                "stat": f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]",
            }
            rows.append(cells | {m: f"{v:.3f}" for m, v in row.shown.items()})
        out += fmt.table_of(columns, rows)
        if chk.authors_value is not None:
            out += [
                "",
                f"Authors' value: {chk.authors_value}. "
                + "; ".join(f"{m}: {METRICS[m].description}" for m in [chk.metric, *chk.show])
                + ".",
            ]
        out.append("")
    return out


def faithful_table(res: ClaimResults) -> list[str]:
    wide = res.faithful_seeds
    if wide is None:
        return []
    metric = res.faithful_metric
    rows = [
        [seed if seed == "mean" else int(seed)] + [fmt.value(v, metric) for v in r]
        for seed, r in wide.iterrows()
    ]
    out = [
        f"## Faithful re-run, per seed ({metric})",
        "",
        *fmt.table(["seed", *wide.columns], rows),
        "",
        "Under the authors' own protocol, with the same verdict rules:",
        "",
    ]
    rows = [
        [
            f"`{name}`",
            r.n,
            fmt.diff(r.shown(r.mean), r.spec),
            fmt.ci(r),
            r.ci.method if r.ci else "",
            str(r.decision),
        ]
        for name, r in res.protocols[FAITHFUL].results.items()
    ]
    return [
        *out,
        *fmt.table(["comparison", "n", "difference", "95% CI", "CI method", "verdict"], rows),
        "",
        *energy_splits(res.protocols[FAITHFUL].results),
        *record_tables(res),
    ]


def tuning(res: ClaimResults) -> list[str]:
    out = []
    for proto_name, t in res.tuning.items():
        arms = [a for a in res.claim.protocols[proto_name].arms if a in t.means]
        rows = [
            [arm]
            + [fmt.value(t.means[arm].get(c, float("nan")), t.metric) for c in t.trials]
            + [trial_value(t.chosen[arm])]
            for arm in arms
        ]
        edge = f" Chosen at the edge of the grid: {', '.join(t.edges)}." if t.edges else ""
        out += [
            f"## Tuning ({proto_name})",
            "",
            f"Mean {t.metric} over tuning seeds {t.seeds} (disjoint from "
            f"the evaluation seeds), per arm and value; each arm uses its best value.{edge}",
            "",
            *fmt.table(["arm", *[trial_value(c) for c in t.trials], "chosen"], rows),
            "",
        ]
    return out
