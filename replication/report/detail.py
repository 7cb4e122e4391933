"""The detail of a claim report: per-seed figures and the secondary statistics (reported,
never decisive). Every number comes from the ClaimResults."""

from __future__ import annotations

from pathlib import Path

from replication import figures
from replication.metrics import is_fraction
from replication.report import fmt
from replication.results import FAITHFUL, VERDICT_PROTOCOL, ClaimResults


def plots(res: ClaimResults, fig_dir: Path, rel: str) -> list[str]:
    if VERDICT_PROTOCOL not in res.protocols:
        return []
    protos = [p for p in res.protocols if res.metrics[p]]
    fig, axes = figures.new_figure(5.0 * len(protos), 4.0, ncols=len(protos))
    for ax, proto in zip(axes, protos, strict=True):
        metric = res.metrics[proto][0]
        figures.per_seed(
            ax,
            res.used[proto],
            res.stats[(proto, metric, res.protocols[proto].n_used)],
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


def loads(res: ClaimResults, fig_dir: Path, rel: str) -> list[str]:
    """MoE utilisation histograms, one panel per MoE arm, and the busiest expert's share."""
    if not res.loads:
        return []
    out = ["## Expert utilisation", ""]
    out += [
        "Share of token slots (top-k assignments) each expert receives on the test windows, per "
        "layer, experts sorted from the busiest; the mean over the seeds used. Uniform routing "
        "gives every expert 1 / experts.",
        "",
        "| protocol | arm | experts | busiest expert's share, per layer | x uniform, worst |",
        "|---|---|---|---|---|",
    ]
    images = []
    for proto, arms in res.loads.items():
        panels = list(arms.items())
        fig, axes = figures.new_figure(4.5 * len(panels), 3.6, ncols=len(panels))
        for ax, (arm, layers) in zip(axes, panels, strict=True):
            figures.expert_loads(ax, layers, f"{proto}: {arm}")
            n = len(layers[0])
            tops = ", ".join(f"{100 * lay[0]:.1f}%" for lay in layers)
            worst = max(lay[0] for lay in layers) * n
            out.append(f"| {proto} | {arm} | {n} | {tops} | {worst:.2f}x |")
        figures.save(fig, fig_dir / f"expert_loads_{proto}.png", fig_dir.parent)
        images += [f"![expert utilisation, {proto}]({rel}/expert_loads_{proto}.png)", ""]
    return [*out, "", *images]


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
        "over seeds. Raw one-sided p-values (the larger of the t-test and Hall's "
        "skew-corrected test) before Holm.",
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
