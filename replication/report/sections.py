"""The sections of a claim report. Each takes the ClaimResults and returns markdown lines;
every number and every "why" sentence is computed from the records."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from replication import figures
from replication.analysis import Result, audit_protocols
from replication.claims import VERDICT_PROTOCOL, Kind
from replication.metrics import METRICS, is_fraction
from replication.report import fmt
from replication.report.results import FAITHFUL, ClaimResults
from replication.stats import arm_summary, pooled_entropy

RULE = (
    "Verdict rules (analysis scale, + = the claimed direction; CI [L, U] at the look's "
    "level): superiority with claimed size c and margin m: CONFIRMED if L > m and U >= c, "
    "REFUTED if U < c (overstated if L > m, no effect if -m < L and U < m, reversed if "
    "U < -m), else INCONCLUSIVE; non-inferiority with allowed cost: CONFIRMED if L > -(cost "
    "+ m), REFUTED if U < -(cost + m); equivalence: CONFIRMED if the CI lies within +-m and "
    "TOST rejects, REFUTED if it lies outside; a compound claim needs every part. Relative "
    "and ratio claims are per-seed log-ratios. A decision must also survive Holm's "
    "correction over the claim's comparisons; UNAUDITABLE means a parity rule failed."
)


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
    out.append(f"- **Claim spec:** `{Path(c.path).as_posix()}`")
    return [*out, ""]


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
    header = [
        "comparison",
        "question",
        "kind",
        "metric",
        "n",
        "difference",
        "CI",
        "claimed",
        "margin",
        "Holm p (confirm / refute)",
        "verdict",
        "why",
    ]
    for name in audit_protocols(res.claim):
        proto = res.claim.protocols[name]
        mine = [e for e in res.claim.effects if e.protocol == name]
        if not mine:
            continue
        out += [f"### `{name}`", "", proto.description.strip(), ""]
        p = res.protocols.get(name)
        if p is None:
            out += [
                f"Not run yet (device `{proto.device}`"
                + (
                    ": run it with `BUDGET=h100` on a GPU machine)."
                    if proto.device == "cuda"
                    else ")."
                ),
                "",
            ]
            continue
        rows = []
        for eff_name, r in p.results.items():
            rows += _verdict_rows(eff_name, r, res)
        out += fmt.table(header, rows) + [""]
        out += [
            f"- `{n}`: seeds without a complete pair: {r.unpaired}"
            for n, r in p.results.items()
            if r.unpaired
        ]
    return [*out, RULE, ""]


def _verdict_rows(name: str, r: Result, res: ClaimResults) -> list[list]:
    eff = next(e for e in res.claim.effects if e.name == name)
    c = r.spec
    if c.kind is Kind.frontier or (r.ci is None and not r.parts):
        return [
            [
                f"`{name}`",
                eff.question,
                c.kind.value,
                c.metric or "",
                r.n,
                "",
                "",
                "",
                "",
                "",
                f"**{r.decision}**",
                r.decision.reason,
            ]
        ]
    holm = f"{fmt.pvalue(r.p_confirm_adj)} / {fmt.pvalue(r.p_refute_adj)}"
    if c.kind is Kind.compound:
        rows = [
            [
                f"`{name}`",
                eff.question,
                "compound",
                "",
                r.n,
                "",
                "",
                "",
                "",
                holm,
                f"**{r.decision}**",
                r.decision.reason,
            ]
        ]
        for i, p in enumerate(r.parts):
            rows.append(
                [
                    f"  part {i + 1}",
                    "",
                    p.spec.kind.value,
                    p.spec.metric,
                    p.n,
                    fmt.diff(p.shown(p.mean), p.spec),
                    fmt.ci(p),
                    fmt.claim_text(p.spec),
                    fmt.margin(p.spec),
                    "",
                    str(p.decision),
                    p.decision.reason,
                ]
            )
        return rows
    return [
        [
            f"`{name}`",
            eff.question,
            c.kind.value,
            c.metric,
            r.n,
            fmt.diff(r.shown(r.mean), c),
            f"{fmt.ci(r)} ({r.ci.method}, {100 * r.ci.level:.4g}%)",
            fmt.claim_text(c),
            fmt.margin(c),
            holm,
            f"**{r.decision}**",
            r.decision.reason,
        ]
    ]


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
        used = res.used(name)
        flops_per_run = (used["acct_flops_per_example_train"] * used["acct_examples_seen"]).mean()
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
        flops = (
            ""
            if math.isnan(flops_per_run)
            else (f" and about {saved * flops_per_run:.3g} training FLOPs")
        )
        out += [
            f"Seeds used: {p.n_used} of {d.n_max} ({used_runs} evaluation runs instead of "
            f"{fixed_runs} for a fixed n_max design: {saved} runs{flops} saved).",
            "",
        ]
        proj = [
            [
                f"`{ename}`",
                r.look,
                _n(r.n_confirm),
                _n(r.n_refute),
                fmt.magnitude(r.shown(r.mde), r.spec),
            ]
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
            out += fmt.table(
                [
                    "comparison",
                    "decided at seeds",
                    "n to confirm",
                    "n to refute",
                    f"detectable at n = {d.n_max}",
                ],
                proj,
            ) + [""]
    return out


def _alpha_note(res: ClaimResults) -> str:
    k = len(audit_protocols(res.claim))
    return "the claim's 0.05" if k == 1 else f"the claim's 0.05 split over its {k} audits"


def _n(x: float) -> str:
    return "never" if math.isinf(x) else f"{math.ceil(x)}"


def faithful_metric(res: ClaimResults) -> str | None:
    """The headline metric as the faithful protocol measures it (e.g. the authors' train loss)."""
    e = res.claim.effects[0]
    faith = res.result(FAITHFUL, e.name)
    return faith.spec.metric if faith is not None else e.metric


def side_by_side(res: ClaimResults) -> list[str]:
    h = res.headline
    if h is None or h.ci is None:
        return []
    e = res.claim.effects[0]
    faith = res.result(FAITHFUL, e.name)
    faith_metric = faithful_metric(res)
    out = ["## Authors' figure, faithful re-run and audit", ""]
    if faith_metric != e.metric:
        out += [
            f"The faithful re-run measures `{faith_metric}`, the authors' metric; the audit "
            f"measures `{e.metric}`.",
            "",
        ]
    rows = []
    for role in ("treatment", "baseline"):
        arm = getattr(e, role)
        cells = [
            f"{arm}",
            fmt.value(getattr(e.authors, role), faith_metric) if e.authors else "n/a",
        ]
        for proto, r, metric in ((FAITHFUL, faith, faith_metric), (VERDICT_PROTOCOL, h, e.metric)):
            n = r.look if r is not None else None  # the seeds the comparison was decided on
            m = res.arm_means(proto, metric, n).get(arm) if proto in res.protocols else None
            cells.append(
                "not run"
                if m is None
                else f"{fmt.value(m['mean'], metric)} (sd {fmt.value(m['sd'], metric)})"
            )
        rows.append(cells)
    diffs = ["difference", e.authors.text if e.authors else "n/a"]
    for r in (faith, h):
        diffs.append("not run" if r is None else f"{fmt.diff(r.shown(r.mean), e)} {fmt.ci(r)}")
    rows.append(diffs)
    rows.append(
        [
            "verdict at the claimed size",
            f"claimed {fmt.claim_text(e)}",
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
    out += fmt.table(["", "authors", "our faithful re-run", "audit (the verdict)"], rows)
    return [*out, "", "### Why the numbers differ", "", *why_faithful(res), *why_audit(res), ""]


def why_faithful(res: ClaimResults) -> list[str]:
    """Our faithful re-run against the authors' figure and any re-run of their own code."""
    proto, e = res.claim.protocols.get(FAITHFUL), res.claim.effects[0]
    if proto is None or FAITHFUL not in res.protocols or e.metric is None:
        return []
    metric = faithful_metric(res)
    means = res.arm_means(FAITHFUL, metric)
    out = []
    has_values = e.authors and e.authors.treatment is not None and e.authors.baseline is not None
    if has_values and e.treatment in means and e.baseline in means:
        out.append(
            f"- **Authors vs our faithful re-run.** The authors report "
            f"{fmt.value(e.authors.treatment, metric)} vs "
            f"{fmt.value(e.authors.baseline, metric)}; re-running their protocol we get "
            f"{fmt.value(means[e.treatment]['mean'], metric)} vs "
            f"{fmt.value(means[e.baseline]['mean'], metric)} "
            f"({e.treatment} vs {e.baseline}, `{metric}`)."
        )
    ref = proto.reference
    if ref is not None:
        means = res.arm_means(FAITHFUL, ref.metric)
        gaps = [abs(means[a]["mean"] - v) for a, v in ref.values.items() if a in means]
        worst = max(gaps) if gaps else math.nan
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
    df = res.df[(res.df["stage"] == "eval") & (res.df["status"] == "complete")]
    if "test_ceiling" in df:
        ceil = df.groupby("protocol")["test_ceiling"].mean()
        if FAITHFUL in ceil and ceil[FAITHFUL] < 1:
            out.append(
                f"- **Test set.** In the faithful split only "
                f"{fmt.value(ceil[FAITHFUL], 'test_ceiling')} of test rows belong to a "
                f"class present in training, so no model can score above that; in the "
                f"audit split that share is "
                f"{fmt.value(ceil.get(VERDICT_PROTOCOL, math.nan), 'test_ceiling')}."
            )
    acct = df.groupby(["protocol", "arm"])[["acct_params_total", "acct_params_trained"]].first()
    frozen = acct[acct["acct_params_trained"] < acct["acct_params_total"]]
    if len(frozen):
        arms = sorted({a for (_, a) in frozen.index})
        n_frozen = int((frozen["acct_params_total"] - frozen["acct_params_trained"]).max())
        out.append(
            f"- **Parameters that never learn.** In {', '.join(arms)}, {n_frozen} "
            f"parameters received no gradient (measured after training): the router is "
            f"built but its output does not reach the loss, so its routing stays as "
            f"initialised."
        )
    for proto, chosen in res.tuned.items():
        listing = ", ".join(f"{a}: {t}" for a, t in sorted(chosen.items()))
        edge = at_grid_edge(res, proto)
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


def protocol_metrics(res: ClaimResults, name: str) -> list[str]:
    """The metrics a protocol's arms are shown on: its effects' (as it measures them), then
    the ones its `show` list adds (e.g. achieved bandwidth next to kernel times)."""
    p = res.protocols.get(name)
    if p is not None and p.results:
        used = [r.spec.metric for r in p.results.values() if r.spec.metric]
    else:
        metric = res.claim.effects[0].metric
        used = [res.claim.protocols[name].metrics.get(metric, metric)] if metric else []
    return list(dict.fromkeys([*used, *res.claim.protocols[name].show]))


def arms(res: ClaimResults) -> list[str]:
    """Every arm's mean and CI, per protocol, on each metric its effects use.

    An arm appears under every metric it was measured on; one measured on none of them
    (a run that failed everywhere) appears under the first, as missing.
    """
    out = ["## Every arm (mean and 95% CI over the seeds used)", ""]
    for proto in res.protocols:
        metrics = protocol_metrics(res, proto)
        summs = {metric: res.arm_means(proto, metric) for metric in metrics}
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


def plots(res: ClaimResults, fig_dir: Path, rel: str) -> list[str]:
    if VERDICT_PROTOCOL not in res.protocols:
        return []
    protos = [p for p in res.protocols if protocol_metrics(res, p)]
    fig, axes = figures.new_figure(5.0 * len(protos), 4.0, ncols=len(protos))
    for ax, proto in zip(axes, protos, strict=True):
        metric = protocol_metrics(res, proto)[0]
        runs = res.used(proto)
        summ = arm_summary(runs, metric, res.claim.id, proto)
        figures.per_seed(
            ax,
            runs,
            summ,
            metric,
            f"{proto}: {metric} per seed, mean and 95% CI",
            scale=100.0 if is_fraction(metric) else 1.0,
        )
    figures.save(fig, fig_dir / "per_seed.png", fig_dir.parent)
    out = ["## Per-seed results", "", f"![per-seed results]({rel}/per_seed.png)", ""]
    for proto in protos:
        if proto == FAITHFUL:
            continue
        comps = [
            c
            for r in res.protocols[proto].results.values()
            for c in (r.parts or [r])
            if c.ci is not None and c.pairs is not None and len(c.pairs)
        ]
        if not comps:
            continue
        fig, axes = figures.new_figure(7.5, 1.0 + 0.9 * len(comps))
        figures.effect_intervals(axes[0], comps)
        figures.save(fig, fig_dir / f"differences_{proto}.png", fig_dir.parent)
        out += [f"![paired differences, {proto}]({rel}/differences_{proto}.png)", ""]
    return out


def secondary(res: ClaimResults) -> list[str]:
    """Reported, never decisive: P(improvement), Cohen's d_z, and the raw per-seed pairs."""
    audit = res.protocols.get(VERDICT_PROTOCOL)
    if audit is None:
        return []
    rows = []
    for r in audit.results.values():
        for part in r.parts or [r]:
            pi = part.secondary.get("prob_improvement")
            if pi is None:
                continue
            rows.append(
                [
                    f"`{part.name}`",
                    f"{pi[0]:.2f} [{pi[1]:.2f}, {pi[2]:.2f}]",
                    f"{part.secondary['cohens_dz']:.2f}",
                    fmt.pvalue(part.p_confirm),
                    fmt.pvalue(part.p_refute),
                ]
            )
    out = ["## Secondary statistics (reported, never decisive)", ""]
    out += fmt.table(
        [
            "comparison",
            "P(treatment better) [95% CI]",
            "Cohen's d_z",
            "raw p (confirm)",
            "raw p (refute)",
        ],
        rows,
    ) + [""]
    out += [
        "P(treatment better) is the Mann-Whitney probability that a treatment run beats a "
        "baseline run (rliable's probability of improvement), with a percentile bootstrap "
        "over seeds. Raw one-sided t-test p-values before Holm.",
        "",
    ]
    h = res.headline
    if h is not None and h.pairs is not None and len(h.pairs):
        c = h.spec
        rows = [
            [int(s), fmt.value(t, c.metric), fmt.value(b, c.metric), fmt.diff(h.shown(d), c)]
            for s, t, b, d in h.pairs.itertuples(index=False)
        ]
        out += [
            f"Per-seed pairs of the headline comparison ({c.treatment} vs {c.baseline}):",
            "",
            *fmt.table(["seed", c.treatment, c.baseline, "difference"], rows),
            "",
        ]
    for name, r in audit.results.items():
        if r.frontier is not None:
            out += [
                f"### Frontier `{name}`",
                "",
                f"On the point-estimate front: {', '.join(r.secondary['point_front'])}. "
                f"Front with CIs: {r.secondary['front']}; best by scalar: "
                f"{r.secondary['scalar']}.",
                "",
            ]
            rows = [[_cell(x) for x in row] for row in r.frontier.to_numpy().tolist()]
            out += fmt.table(list(r.frontier.columns), rows) + [""]
    return out


def _cell(x) -> str:
    if isinstance(x, tuple):
        return "[" + ", ".join(f"{v:+.4g}" for v in x) + "]"
    if isinstance(x, float):
        return f"{x:+.4g}"
    return str(x)


def parity(res: ClaimResults) -> list[str]:
    out = [
        "## Parity receipt",
        "",
        "What each arm of each protocol actually used, from its run records. Matched arms "
        "should agree on parameters, FLOPs, steps, examples, seeds and tuning budget "
        f"(rules: {_rules(res)}; diverged runs count as {res.claim.on_diverged.value}).",
        "",
    ]
    rows = []
    for proto_name, proto in res.claim.protocols.items():
        sub = (
            res.df[(res.df["protocol"] == proto_name) & (res.df["stage"] == "eval")]
            if len(res.df)
            else res.df
        )
        for arm in proto.arms:
            a = sub[sub["arm"] == arm] if len(sub) else sub
            if not len(a):
                rows.append([proto_name, arm] + ["not run"] * 10)
                continue
            ok = a[a["status"] != "failed"]  # diverged runs ran: their accounting is real
            count = a["status"].value_counts()
            rows.append(
                [
                    proto_name,
                    arm,
                    _one(ok["acct_params_total"]),
                    _one(ok["acct_params_trained"]),
                    _one(ok["acct_flops_per_example_forward"]),
                    _one(ok["acct_flops_per_example_train"]),
                    _one(ok["acct_steps"]),
                    _one(ok["acct_examples_seen"]),
                    count.get("complete", 0),
                    count.get("diverged", 0),
                    count.get("failed", 0),
                    _tuning(res, proto_name, arm),
                ]
            )
    out += fmt.table(
        [
            "protocol",
            "arm",
            "params",
            "params trained",
            "FLOPs/example fwd",
            "FLOPs/example train step",
            "steps",
            "examples seen",
            "complete",
            "diverged",
            "failed",
            "tuning",
        ],
        rows,
    )
    note = next((r.accounting["flops_note"] for r in res.runs if "flops_note" in r.accounting), "")
    out += [
        "",
        f"FLOPs: {note}. Counts cover every recorded evaluation run; failed runs are "
        "retried by the next `make replicate`.",
    ]
    for failed in [r for r in res.runs if r.status == "failed"]:
        out.append(
            f"- failed: `{failed.protocol}/{failed.arm}/seed={failed.seed}`: "
            f"{(failed.error or '').splitlines()[0]}"
        )
    for problem in res.problems:
        out.append(f"- left out (failed its checks; `make replicate` runs it again): {problem}")
    return [*out, ""]


def _rules(res: ClaimResults) -> str:
    p = res.claim.parity
    parts = [
        f"{k} within {getattr(p, k):.0%}"
        for k in ("params", "flops", "steps", "examples")
        if getattr(p, k) is not None
    ]
    return ", ".join(parts + (["equal tuning budget"] if p.tuning else []))


def _tuning(res: ClaimResults, proto_name: str, arm: str) -> str:
    t = res.claim.protocols[proto_name].tuning
    if t is None:
        return "none (fixed hyperparameters)"
    if t.arms and arm not in t.arms:
        return "none (not among the arms that search)"
    chosen = res.tuned.get(proto_name, {}).get(arm, "n/a")
    values, seeds = res.tuning_ran.get(proto_name, {}).get(arm, (0, 0))
    return (
        f"{t.param} over {values} values x {seeds} seeds on {t.metric}; "
        f"chose {chosen.split('=')[-1]}"
    )


def _one(col) -> str:
    vals = sorted(set(col.dropna()))
    if not vals:
        return "n/a"
    shown = [f"{v:,.0f}" for v in vals]
    return shown[0] if len(shown) == 1 else "varies: " + ", ".join(shown)


def checks(res: ClaimResults) -> list[str]:
    out = []
    for chk in res.claim.checks:
        out += [f'## Secondary claim: "{chk.text}"', "", chk.note.strip(), ""]
        extra = [
            m
            for m in ("routing_sample_entropy", "routing_load_entropy")
            if m in res.df and m != chk.metric
        ]
        rows = []
        for proto_name in res.protocols:
            runs = res.used(proto_name)
            summ = {
                r["arm"]: r
                for _, r in arm_summary(runs, chk.metric, res.claim.id, proto_name).iterrows()
            }
            recs = {
                (r.arm, r.seed): r
                for r in res.runs
                if r.protocol == proto_name and r.stage == "eval"
            }
            for arm in res.claim.protocols[proto_name].arms:
                s = summ.get(arm)
                if s is None:
                    continue
                vecs = [
                    recs[(arm, sd)].extras["routing_mean_weights"]
                    for sd in runs.loc[runs["arm"] == arm, "seed"]
                    if "routing_mean_weights" in recs[(arm, sd)].extras
                ]
                row = [
                    proto_name,
                    arm,
                    f"{pooled_entropy(vecs):.3f}" if vecs else "n/a",
                    f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]",
                ]
                row += [f"{runs.loc[runs['arm'] == arm, m].mean():.3f}" for m in extra]
                rows.append(row)
        out += fmt.table(
            [
                "protocol",
                "arm",
                "authors' statistic (seeds pooled)",
                f"{chk.metric} per run, mean [95% CI]",
                *[f"{m}, mean" for m in extra],
            ],
            rows,
        )
        if chk.authors_value is not None:
            out += [
                "",
                f"Authors' value: {chk.authors_value}. "
                + "; ".join(f"{m}: {METRICS[m].description}" for m in [chk.metric, *extra])
                + ".",
            ]
        out.append("")
    return out


def faithful_table(res: ClaimResults) -> list[str]:
    e = res.claim.effects[0]
    if FAITHFUL not in res.protocols or e.metric is None:
        return []
    metric = faithful_metric(res)
    runs = res.used(FAITHFUL)
    wide = runs.pivot_table(index="seed", columns="arm", values=metric, aggfunc="first")
    wide = wide[[a for a in res.claim.protocols[FAITHFUL].arms if a in wide]]
    rows = [[int(seed)] + [fmt.value(v, metric) for v in r] for seed, r in wide.iterrows()]
    rows.append(["mean"] + [fmt.value(wide[a].mean(), metric) for a in wide])
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
    ]


def at_grid_edge(res: ClaimResults, proto_name: str) -> list[str]:
    """Arms whose chosen value is the smallest or largest of a numeric grid (a smallest value
    of 0, e.g. no dropout, is a bound the search could not go past, so it is not flagged)."""
    t = res.claim.protocols[proto_name].tuning
    try:
        grid = [float(v) for v in t.values] if t is not None else []
    except (TypeError, ValueError):
        return []
    if len(grid) < 3:
        return []
    out = []
    for arm, trial in sorted(res.tuned.get(proto_name, {}).items()):
        try:
            v = float(str(trial).split("=")[-1])
        except ValueError:
            continue
        if v == max(grid) or (v == min(grid) and v != 0):  # 0 is a bound, not an edge
            out.append(f"{arm} ({v:g})")
    return out


def tuning(res: ClaimResults) -> list[str]:
    out = []
    for proto_name, proto in res.claim.protocols.items():
        t = proto.tuning
        trials = (
            res.df[(res.df["protocol"] == proto_name) & (res.df["stage"] == "tune")]
            if len(res.df)
            else res.df
        )
        if t is None or not len(trials):
            continue
        means = trials.pivot_table(index="arm", columns="trial", values=t.metric, aggfunc="mean")
        cols = list(dict.fromkeys(trials["trial"]))
        rows = [
            [arm]
            + [fmt.value(means.loc[arm, c], t.metric) for c in cols]
            + [res.tuned[proto_name][arm].split("=")[-1]]
            for arm in proto.arms
            if arm in means.index
        ]
        out += [
            f"## Tuning ({proto_name})",
            "",
            f"Mean {t.metric} over tuning seeds {sorted(set(trials['seed']))} (disjoint from "
            f"the evaluation seeds), per arm and value; each arm uses its best value."
            + (
                f" Chosen at the edge of the grid: {', '.join(edge)}."
                if (edge := at_grid_edge(res, proto_name))
                else ""
            ),
            "",
            *fmt.table(["arm", *[c.split("=")[-1] for c in cols], "chosen"], rows),
            "",
        ]
    return out


def used_runs(res: ClaimResults) -> pd.DataFrame:
    """The runs the verdicts rest on: tuning runs and the evaluation seeds the looks used."""
    parts = []
    for name in res.protocols:
        seeds = set(res.claim.protocols[name].seeds[: res.protocols[name].n_used])
        mine = res.df[res.df["protocol"] == name]
        parts.append(mine[(mine["stage"] == "tune") | mine["seed"].isin(seeds)])
    return pd.concat(parts) if parts else res.df.iloc[:0]


def compute(res: ClaimResults, rel: str) -> list[str]:
    """Deterministic compute (runs, steps, FLOPs); measured time and energy, which vary from
    one execution to the next, are in a separate file so this report is reproducible."""
    if not len(res.df):
        return []
    used = used_runs(res)
    flops = used["acct_flops_per_example_train"] * used["acct_examples_seen"]
    rows = []
    for (proto, stage), g in used.assign(_flops=flops).groupby(["protocol", "stage"], sort=True):
        rows.append(
            [proto, stage, len(g), f"{g['acct_steps'].sum():,.0f}", f"{g['_flops'].sum():.3g}"]
        )
    rows.append(["all", "", len(used), f"{used['acct_steps'].sum():,.0f}", f"{flops.sum():.3g}"])
    out = [
        "## Compute",
        "",
        *fmt.table(["protocol", "stage", "runs", "training steps", "training FLOPs"], rows),
        "",
        f"Runs the verdicts use (tuning included). Measured wall time, CPU time and energy "
        f"are in [{rel}/cost.md]({rel}/cost.md): they differ between executions, so they "
        "are kept out of this report, which is a function of the records' results alone.",
    ]
    extra = len(res.df) - len(used)
    if extra:
        out.append(
            f"{extra} further record(s) exist for seeds beyond the last look; they are not used."
        )
    return [*out, ""]


def cost(res: ClaimResults) -> str:
    """reports/<claim>/cost.md: measured time and energy of the runs the verdicts use."""
    used = used_runs(res)
    rows = [
        [
            proto,
            stage,
            arm,
            len(g),
            f"{g['time_wall_s'].sum():.1f}",
            f"{g['time_cpu_s'].sum():.1f}",
            f"{g['time_wall_s'].mean():.2f}",
            f"{g['energy_j'].sum():.0f}",
        ]
        for (proto, stage, arm), g in used.groupby(["protocol", "stage", "arm"], sort=True)
    ]
    rows.append(
        [
            "all",
            "",
            "",
            len(used),
            f"{used['time_wall_s'].sum():.1f}",
            f"{used['time_cpu_s'].sum():.1f}",
            f"{used['time_wall_s'].mean():.2f}",
            f"{used['energy_j'].sum():.0f}",
        ]
    )
    method = next((r.energy["method"] for r in res.runs if r.energy.get("method")), "n/a")
    devices = sorted({r.environment.get("device_name", "?") for r in res.runs})
    lines = [
        f"# {res.claim.id}: measured cost",
        "",
        "Training-loop time and energy of the runs the verdicts use, as measured when each "
        f"run executed (on {', '.join(devices)}). These numbers change from one execution "
        "to the next; the verdict report does not depend on them.",
        "",
        *fmt.table(
            [
                "protocol",
                "stage",
                "arm",
                "runs",
                "wall s (sum)",
                "CPU s (sum)",
                "wall s per run",
                "energy J (sum)",
            ],
            rows,
        ),
        "",
        f"Energy: {method}.",
        "",
    ]
    return "\n".join(lines)


def provenance(res: ClaimResults) -> list[str]:
    envs = [r.environment for r in res.runs]
    if not envs:
        return []
    shas = sorted({(e["git_sha"][:12], e["git_dirty"]) for e in envs})
    devices = sorted(
        {f"{e['device']} ({e['device_name']}), {e['torch_threads']} torch thread(s)" for e in envs}
    )
    versions = envs[0]["versions"]
    same = all(e["versions"] == versions for e in envs)
    return [
        "## Provenance",
        "",
        f"- Records: {len(res.runs)} under `{res.runs_dir}/{res.claim.id}/` (one `record.json` per "
        "run: config and hash, metrics and curve, accounting, timing, energy, environment).",
        "- Code: " + ", ".join(f"`{s}`{' (uncommitted changes)' if d else ''}" for s, d in shas),
        "- Device: " + "; ".join(devices),
        "- Packages"
        + ("" if same else " (of the first record; they vary)")
        + ": "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Reproduce: `make replicate CLAIM={res.claim.id}` (re-render without training: "
        f"`make report CLAIM={res.claim.id}`).",
        "",
    ]
