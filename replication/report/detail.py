"""The detail of a claim report: per-seed figures and the secondary statistics (reported,
never decisive). Every number comes from the ClaimResults."""

from __future__ import annotations

import math
from pathlib import Path

from replication import figures
from replication.metrics import is_fraction
from replication.report import fmt
from replication.results import FAITHFUL, VERDICT_PROTOCOL, ClaimResults
from replication.searchtrace import TRACE_KEYS


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


def search(res: ClaimResults, fig_dir: Path, rel: str) -> list[str]:
    """Search runs' fitness by generation, reported against measured, and the search against
    gradient descent at equal energy (both computed in replication/searchtrace.py)."""
    if not res.search:
        return []
    out = ["## Search trace: reported against measured fitness", ""]
    out += [
        "Per generation, mean over the seeds used: the best fitness as the search's script "
        "reports it (surrogate predictions mixed with real evaluations) and the best measured "
        "by a real forward pass. The dashed line marks the first generation with predicted "
        "fitnesses.",
        "",
        "| protocol | arm | generation | reported best | measured best | best so far, reported "
        "| best so far, measured | real evaluations so far |",
        "|---|---|---|---|---|---|---|---|",
    ]
    images, notes = [], []
    for proto, arms in res.search.items():
        panels = list(arms.items())
        fig, axes = figures.new_figure(5.0 * len(panels), 3.8, ncols=len(panels))
        for ax, (arm, t) in zip(axes, panels, strict=True):
            first = t.get("first_predicted")
            figures.search_trace(ax, t, f"{proto}: {arm}", first)
            if first and first > 1:
                notes.append(_trace_note(proto, arm, t, first))
            elif "best_reported_rises" in t:
                notes.append(
                    f"- `{proto}` / `{arm}`: every fitness is a real evaluation; the generation's "
                    f"best rises from one generation to the next {t['best_reported_rises']:.1f} "
                    f"times per seed on average (means over {t['n']} seeds).\n"
                )
            picks = sorted({1, first or 1, (first or 1) + 1, (first or 1) + 2, len(t["gen"])})
            for g in [p for p in picks if p <= len(t["gen"])]:
                cells = [t.get(k, [None] * g)[g - 1] for k in TRACE_KEYS]
                shown = ["" if v is None or math.isnan(v) else f"{v:.4f}" for v in cells]
                evals = f"{t['real_evals'][g - 1]:,.0f}" if "real_evals" in t else ""
                out.append(f"| {proto} | {arm} | {g} | {' | '.join(shown)} | {evals} |")
        figures.save(fig, fig_dir / f"search_{proto}.png", fig_dir.parent)
        images += [f"![search trace, {proto}]({rel}/search_{proto}.png)", ""]
    return [*out, "", *notes, *images, *budgets(res)]


def _trace_note(proto: str, arm: str, t: dict, first: int) -> str:
    rep, mea = t["best_reported"], t["best_measured"]
    return (
        f"- `{proto}` / `{arm}`: at generation {first}, the first with predicted fitnesses, the "
        f"reported best goes from {rep[first - 2]:.4f} to {rep[first - 1]:.4f} while the "
        f"measured best is {mea[first - 1]:.4f}; over {len(rep)} generations the reported "
        f"best ends at {t['overall_reported'][-1]:.4f} and the measured at "
        f"{t['overall_measured'][-1]:.4f}. The generation's reported best rises from one "
        f"generation to the next {t['best_reported_rises']:.1f} times per seed on average, "
        f"its measured best {t['best_measured_rises']:.1f} times (means over {t['n']} seeds)."
        "\n"
    )


def budgets(res: ClaimResults) -> list[str]:
    if not res.budgets:
        return []
    out = ["## The search against gradient descent at equal energy", ""]
    out += [
        "Validation loss on the search's fitness rows (the search's is its best fitness, "
        "selected on those rows: biased in its favour). Energy up to a generation or a step "
        "is the run's measured window apportioned by real evaluations or by steps "
        "(an approximation). Mean over paired seeds; the difference at equal energy has a "
        "t interval.",
        "",
        "| protocol | search | gradient | n | search J | gradient J | search loss "
        "| gradient loss at the search's energy | difference [CI] | search reached the "
        "gradient run's final loss | gradient run reached the search's loss |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for proto, rows in res.budgets.items():
        for r in rows:
            lo, hi = r["diff_ci"]
            ci = f"[{lo:+.4f}, {hi:+.4f}] ({r['level']:.0%})" if not math.isnan(lo) else ""
            s_reach = _reach(r["search_reached"], r["n"], r["search_j_to_grad_val"])
            g_reach = _reach(r["grad_reached"], r["n"], r["grad_j_to_search_val"])
            out.append(
                f"| {proto} | {r['search']} | {r['gradient']} | {r['n']} | {r['search_j']:.4g} "
                f"| {r['grad_j']:.4g} | {r['search_val']:.4f} "
                f"| {r['grad_val_at_search_energy']:.4f} "
                f"| {r['diff_at_equal_energy']:+.4f} {ci} | {s_reach} | {g_reach} |"
            )
    return [*out, ""]


def _reach(k: int, n: int, joules: float | None) -> str:
    if not k:
        return f"never (0 of {n} seeds)"
    return f"{k} of {n} seeds, after {joules:.4g} J on average"


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
