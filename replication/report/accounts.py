"""The receipts of a claim report: parity (what each arm used), compute, measured cost and
provenance. Every number comes from ClaimResults.receipt (replication/receipts.py)."""

from __future__ import annotations

from replication.receipts import ACCOUNTING
from replication.report import fmt
from replication.results import ClaimResults
from replication.tuning import trial_value

PARITY_COLUMNS = {
    "protocol": "protocol",
    "arm": "arm",
    **{col: col for col, _ in ACCOUNTING},
    "complete": "complete",
    "diverged": "diverged",
    "failed": "failed",
    "tuning": "tuning",
}


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
    for r in res.receipt.parity:
        if not r["ran"]:
            rows.append({k: "not run" for k in PARITY_COLUMNS} | _key(r))
            continue
        cells = {col: _one(r[col]) for col, _ in ACCOUNTING}
        counts = {k: r.get(k, 0) for k in ("complete", "diverged", "failed")}
        rows.append(_key(r) | cells | counts | {"tuning": _tuning(res, r["protocol"], r["arm"])})
    out += fmt.table_of(PARITY_COLUMNS, rows)
    out += [
        "",
        f"FLOPs: {res.receipt.flops_note}. Counts cover every recorded evaluation run; failed "
        "runs are retried by the next `make replicate`.",
    ]
    out += [f"- failed: {line}" for line in res.receipt.failed]
    for problem in res.problems:
        out.append(f"- left out (failed its checks; `make replicate` runs it again): {problem}")
    return [*out, ""]


def _key(r: dict) -> dict:
    return {"protocol": r["protocol"], "arm": r["arm"]}


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
    table = res.tuning.get(proto_name)
    chosen = table.chosen.get(arm) if table else None
    values, seeds = table.ran.get(arm, (0, 0)) if table else (0, 0)
    return (
        f"{t.param} over {values} values x {seeds} seeds on {t.metric}; "
        f"chose {trial_value(chosen) if chosen else 'n/a'}"
    )


def _one(vals: list[float]) -> str:
    if not vals:
        return "n/a"
    shown = [f"{v:,.0f}" for v in vals]
    return shown[0] if len(shown) == 1 else "varies: " + ", ".join(shown)


def compute(res: ClaimResults, rel: str) -> list[str]:
    """Deterministic compute (runs, steps, FLOPs); measured time and energy, which vary from
    one execution to the next, are in a separate file so this report is reproducible."""
    if not res.receipt.compute:
        return []
    rows = [
        [r["protocol"], r["stage"], r["runs"], f"{r['steps']:,.0f}", f"{r['flops']:.3g}"]
        for r in res.receipt.compute
    ]
    out = [
        "## Compute",
        "",
        *fmt.table(["protocol", "stage", "runs", "training steps", "training FLOPs"], rows),
        "",
        f"Runs the verdicts use (tuning included). Measured wall time, CPU time and energy "
        f"are in [{rel}/cost.md]({rel}/cost.md): they differ between executions, so they "
        "are kept out of this report, which is a function of the records' results alone.",
    ]
    extra = res.receipt.unused_records
    if extra:
        out.append(
            f"{extra} further record(s) exist for seeds beyond the last look; they are not used."
        )
    return [*out, ""]


COST_COLUMNS = {
    "protocol": "protocol",
    "stage": "stage",
    "arm": "arm",
    "runs": "runs",
    "wall": "wall s (sum)",
    "cpu": "CPU s (sum)",
    "wall_per_run": "wall s per run",
    "energy": "energy J (sum)",
}


def cost(res: ClaimResults) -> str:
    """reports/<claim>/cost.md: measured time and energy of the runs the verdicts use."""
    rows = [
        r | {
            "wall": f"{r['wall']:.1f}", "cpu": f"{r['cpu']:.1f}",
            "wall_per_run": f"{r['wall_per_run']:.2f}", "energy": f"{r['energy']:.0f}",
        }
        for r in res.receipt.cost
    ]  # fmt: skip
    names = ", ".join(d.name for d in res.receipt.devices)
    methods = res.receipt.energy_methods
    lines = [
        f"# {res.claim.id}: measured cost",
        "",
        "Training-loop time and energy of the runs the verdicts use, as measured when each "
        f"run executed (on {names}). These numbers change from one execution "
        "to the next; the verdict report does not depend on them.",
        "",
        *fmt.table_of(COST_COLUMNS, rows),
        "",
        *[f"Energy: {m}." for m in methods or ["n/a"]],
        "",
    ]
    return "\n".join(lines)


def provenance(res: ClaimResults) -> list[str]:
    r = res.receipt
    if not r.records:
        return []
    out = [
        "## Provenance",
        "",
        f"- Records: {r.records} under `{res.runs_dir}/{res.claim.id}/` (one `record.json` per "
        "run: config and hash, metrics and curve, accounting, timing, energy, environment).",
        "- Code: " + ", ".join(f"`{s}`{' (uncommitted changes)' if d else ''}" for s, d in r.code),
    ]
    for d in r.devices:
        threads = "/".join(str(t) for t in d.threads)
        packages = ", ".join(f"{k} {v}" for k, v in d.versions.items())
        vary = " (of its first record; they vary)" if d.versions_vary else ""
        out.append(
            f"- Device `{d.device}` ({d.name}), {d.records} records, {threads} torch "
            f"thread(s); packages{vary}: {packages}"
        )
    out += [
        f"- Reproduce: `make replicate CLAIM={res.claim.id}` (re-render without training: "
        f"`make report CLAIM={res.claim.id}`).",
        "",
    ]
    return out
