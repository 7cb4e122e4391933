"""Authors / faithful / audit side by side for a frontier headline: per arm, the objective
as each protocol measures it, and which arms each protocol puts on the point front.

Every number comes from the ClaimResults; nothing is estimated here.
"""

from __future__ import annotations

from replication.report import fmt
from replication.results import FAITHFUL, VERDICT_PROTOCOL, ClaimResults


def frontier_side_by_side(res: ClaimResults) -> list[str]:
    e, h = res.claim.effects[0], res.headline
    faith = res.result(FAITHFUL, e.name)
    proto = res.claim.protocols.get(FAITHFUL)
    arms = e.arms or list(res.claim.protocols[VERDICT_PROTOCOL].arms)
    loss, size = (o.metric for o in e.objectives)
    f_loss = faith.spec.objectives[0].metric if faith is not None else res.faithful_metric
    ref = proto.reference if proto is not None else None
    authors = ref.values if ref is not None and ref.metric == f_loss else {}
    cols = {}
    for name, r, metric in ((FAITHFUL, faith, f_loss), (VERDICT_PROTOCOL, h, loss)):
        if r is None or name not in res.protocols:
            continue
        cols[name] = ((metric, res.arm_stats(name, metric)), (size, res.arm_stats(name, size)))
    rows = []
    for arm in arms:
        row = [f"`{arm}`" + (" (candidate)" if arm == e.candidate else "")]
        row.append(fmt.value(authors[arm], f_loss) if arm in authors else "n/a")
        for name in (FAITHFUL, VERDICT_PROTOCOL):
            for metric, stats in cols.get(name, ((None, {}), (None, {}))):
                m = stats.get(arm)
                row.append("not run" if m is None else fmt.value(m["mean"], metric))
        rows.append(row)
    header = [
        "arm",
        f"authors ({f_loss})",
        f"faithful {f_loss}",
        f"faithful {size}",
        f"audit {loss}",
        f"audit {size}",
    ]
    out = [
        "## Authors' figure, faithful re-run and audit",
        "",
        f"The headline is a frontier: is `{e.candidate}` on the front of `{loss}` against "
        f"`{size}` ({e.optimal.value})? The faithful re-run measures `{f_loss}`, the audit `{loss}`"
        " (means over the seeds used).",
        "",
        *fmt.table(header, rows),
        "",
    ]
    for name, r in ((FAITHFUL, faith), (VERDICT_PROTOCOL, h)):
        if r is None or "point_front" not in r.secondary:
            continue
        out.append(
            f"- **{name}** ({r.n} seed{'s' if r.n != 1 else ''}): on the point-estimate front: "
            f"{', '.join(r.secondary['point_front'])}; with CIs: {r.secondary['front']}; "
            f"best by the product: {r.secondary['scalar']}."
        )
    if e.authors is not None:
        out.append(f"- **authors:** {e.authors.text}.")
    others = [a for a in authors if a not in arms]  # e.g. a second script of the authors'
    if others and FAITHFUL in cols:
        faithful = cols[FAITHFUL][0][1]
        rows = [
            [
                f"`{a}`",
                fmt.value(authors[a], f_loss),
                fmt.value(faithful[a]["mean"], f_loss) if a in faithful else "not run",
            ]
            for a in others
        ]
        out += ["", "The faithful protocol's other arms with an authors' figure:", ""]
        out += fmt.table(["arm", f"authors ({f_loss})", f"faithful {f_loss}"], rows)
    return [*out, ""]
