"""Everything a report shows, computed once from a claim's run records.

analyse() turns a claim and its records into a ClaimResults: the verdicts of every protocol
(analysis.py), every per-arm statistic a table or figure shows, the tuning choices, the facts
the "why" bullets state and the receipts (parity, compute, cost, provenance: receipts.py).
The renderers in replication/report/ format this object; they never compute a statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from replication import noise, receipts, records, searchtrace, tuning
from replication.analysis import ProtocolResult, Result, audit_protocols, evaluate_claim
from replication.claims import FAITHFUL, VERDICT_PROTOCOL, Claim
from replication.loads import expert_loads
from replication.metrics import METRICS
from replication.receipts import verdict_runs
from replication.stats import arm_summary, benjamini_hochberg, pooled_entropy

HEADS = (FAITHFUL, VERDICT_PROTOCOL)  # the two columns of the side-by-side table

__all__ = ["FAITHFUL", "VERDICT_PROTOCOL", "ClaimResults", "ProtocolResult", "Result", "analyse"]


@dataclass
class TuningTable:
    """Mean tuning metric per arm and trial, and what each arm chose."""

    metric: str
    seeds: list[int]
    trials: list[str]  # in grid order
    means: dict[str, dict[str, float]]  # arm -> trial -> mean
    chosen: dict[str, str]  # arm -> trial
    ran: dict[str, tuple[int, int]]  # arm -> (values, seeds) that actually ran
    edges: list[str]  # "arm (value)" chosen at the edge of a numeric grid


@dataclass
class CheckRow:
    protocol: str
    arm: str
    pooled: float  # the metric's pooled statistic over seeds (nan when it has none)
    stat: pd.Series  # arm_summary row of the check's metric
    shown: dict[str, float]  # the check's `show` metrics: mean per arm


@dataclass
class ClaimResults:
    claim: Claim
    protocols: dict[str, ProtocolResult]  # only protocols with records
    audits: list[str]  # the claim's audit protocols, in claim order
    used: dict[str, pd.DataFrame]  # protocol -> completed evaluation runs of the looks used
    metrics: dict[str, list[str]]  # protocol -> metrics its arms are tabulated on
    stats: dict[tuple[str, str, int], pd.DataFrame]  # (protocol, metric, seeds) -> arm_summary
    tuning: dict[str, TuningTable]
    checks: dict[str, list[CheckRow]]  # check name -> rows
    faithful_seeds: pd.DataFrame | None  # seed x arm on the faithful metric
    facts: receipts.Facts
    receipt: receipts.Receipts
    problems: list[str]  # records that failed their checks (left out, re-run by replicate)
    runs_dir: str = "runs"  # where the records were read (a path as the user gave it)
    floors: dict[str, noise.Floor] = field(default_factory=dict)  # effect -> matching A/A floor
    own_floors: list[noise.Floor] = field(default_factory=list)  # an A/A claim's own floors
    data: dict[str, dict] = field(default_factory=dict)  # protocol -> the data its runs used
    tables: list[tuple[str, str, int, str, list[dict]]] = field(default_factory=list)
    loads: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)  # protocol
    # -> MoE arm -> per layer, the share of token slots per expert (mean over seeds, sorted)
    search: dict[str, dict] = field(default_factory=dict)  # protocol -> search arm -> trace
    budgets: dict[str, list[dict]] = field(default_factory=dict)  # protocol -> arm pairs

    @property
    def calibration(self) -> bool:
        """An A/A claim: one configuration against itself (its verdict calibrates the engine)."""
        return bool(self.own_floors)

    @property
    def headline(self) -> Result | None:
        audit = self.protocols.get(VERDICT_PROTOCOL)
        return audit.results.get(self.claim.effects[0].name) if audit else None

    @property
    def faithful_metric(self) -> str | None:
        return faithful_metric(self.claim, self.protocols)

    def result(self, protocol: str, effect: str) -> Result | None:
        p = self.protocols.get(protocol)
        return p.results.get(effect) if p else None

    def arm_stats(self, protocol: str, metric: str, n: int | None = None) -> dict[str, pd.Series]:
        """Per-arm n, mean, sd and CI over the first n seeds (default: the looks used)."""
        summ = self.stats[(protocol, metric, n or self.protocols[protocol].n_used)]
        return {r["arm"]: r for _, r in summ.iterrows()}


def analyse(
    claim: Claim,
    runs: list[records.RunRecord],
    max_seeds: int | None = None,
    problems: list[str] | None = None,
    runs_dir: str = "runs",
    floors: list[noise.Floor] | None = None,
) -> ClaimResults:
    """`floors`: the A/A noise floors available (all_floors()); each effect is matched to
    the one measured on its task, metric and device."""
    df = records.to_frame(runs)
    named = [m for m in _claim_metrics(claim) if m not in df]
    df = df.reindex(columns=[*df.columns, *named])  # e.g. every run failed: columns stay
    present = set(df["protocol"]) if len(df) else set()
    protocols = {
        name: res for name, res in evaluate_claim(df, claim, max_seeds).items() if name in present
    }
    used = {name: verdict_runs(df, claim, name, p.n_used) for name, p in protocols.items()}
    metrics = {name: _protocol_metrics(claim, name, protocols.get(name)) for name in protocols}
    stats = _arm_stats(claim, df, protocols, metrics)
    tables = _tuning_tables(claim, df)
    res = ClaimResults(
        claim,
        protocols,
        audit_protocols(claim),
        used,
        metrics,
        stats,
        tables,
        _checks(claim, runs, used, protocols),
        _faithful_seeds(claim, used, protocols),
        receipts.facts(claim, df, {p: t.chosen for p, t in tables.items()}),
        receipts.receipts(claim, df, runs, protocols),
        problems or [],
        runs_dir,
    )
    res.own_floors = noise.floors(claim, runs, max_seeds)
    res.data, res.tables = _data(runs), _record_tables(runs)
    seeds = {name: set(df["seed"]) for name, df in used.items()}
    res.loads = expert_loads(runs, seeds)
    res.search = searchtrace.traces(runs, seeds)
    res.budgets = {
        p: searchtrace.summarise(rows) for p, rows in searchtrace.pairs(runs, seeds).items()
    }
    if not res.calibration:
        for e in claim.effects:
            found = noise.match(claim, e, floors or [])
            if found is not None:
                res.floors[e.name] = found
    return res


def _data(runs: list[records.RunRecord]) -> dict[str, dict]:
    """Protocol -> the data its evaluation runs used (a record's extras["data"])."""
    out: dict[str, dict] = {}
    for r in runs:
        if r.stage == "eval" and isinstance(r.extras.get("data"), dict):
            out.setdefault(r.protocol, r.extras["data"])
    return out


def _record_tables(runs: list[records.RunRecord]) -> list[tuple[str, str, int, str, list]]:
    """The faithful runs' own tables (an extras list of rows, e.g. the authors' plateau
    table read off one run), as (protocol, arm, seed, name, rows)."""
    return [
        (r.protocol, r.arm, r.seed, k, v)
        for r in sorted(runs, key=lambda r: (r.arm, r.seed))
        if r.protocol == FAITHFUL and r.stage == "eval"
        for k, v in r.extras.items()
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
    ]


def all_floors(
    claims: list[Claim], runs_of: dict[str, list[records.RunRecord]], max_seeds: int | None
) -> list[noise.Floor]:
    """The noise floors of every A/A claim among `claims`, from their records."""
    return [f for c in claims for f in noise.floors(c, runs_of.get(c.id, []), max_seeds)]


def _protocol_metrics(claim: Claim, name: str, p: ProtocolResult | None) -> list[str]:
    """The metrics a protocol's arms are shown on: its effects' (as it measures them), then
    the ones its `show` list adds (e.g. achieved bandwidth next to kernel times)."""
    if p is not None and p.results:
        specs = [q.spec for r in p.results.values() for q in [r, *r.parts]]
        shown = [c.metric for c in specs if c.metric]
        shown += [o.metric for c in specs for o in getattr(c, "objectives", [])]  # frontiers
    else:
        metric = claim.effects[0].metric
        shown = [claim.protocols[name].metrics.get(metric, metric)] if metric else []
    return list(dict.fromkeys([*shown, *claim.protocols[name].show]))


def faithful_metric(claim: Claim, protocols: dict[str, ProtocolResult]) -> str | None:
    """The headline metric as the faithful protocol measures it (e.g. the authors' train
    loss)."""
    e = claim.effects[0]
    faith = protocols[FAITHFUL].results.get(e.name) if FAITHFUL in protocols else None
    if faith is not None:
        return faith.spec.metric
    proto = claim.protocols.get(FAITHFUL)  # not estimated here: the protocol's own mapping
    return proto.metrics.get(e.metric, e.metric) if proto is not None and e.metric else e.metric


def _arm_stats(claim, df, protocols, metrics) -> dict[tuple[str, str, int], pd.DataFrame]:
    """Every per-arm summary a report shows, each bootstrapped once."""
    keys = [(p, m, protocols[p].n_used) for p in protocols for m in metrics[p]]
    keys += [(p, c.metric, protocols[p].n_used) for p in protocols for c in claim.checks]
    e = claim.effects[0]
    faith, head = (protocols[p].results.get(e.name) if p in protocols else None for p in HEADS)
    faith_metric = faithful_metric(claim, protocols)
    ref = claim.protocols[FAITHFUL].reference
    for proto, r, metric in zip(HEADS, (faith, head), (faith_metric, e.metric), strict=True):
        if proto in protocols:  # the side-by-side table: at the look that decided the headline
            n = (r.look if r is not None else None) or protocols[proto].n_used
            parts = [q.spec.metric for q in r.parts] if r is not None else []
            keys += [(proto, m, n) for m in [metric, *parts]]
    if FAITHFUL in protocols:
        n = protocols[FAITHFUL].n_used
        keys += [(FAITHFUL, faith_metric, n)] + ([(FAITHFUL, ref.metric, n)] if ref else [])
    out = {}
    for proto, metric, n in dict.fromkeys(keys):
        if metric:
            runs = verdict_runs(df, claim, proto, n)
            out[(proto, metric, n)] = arm_summary(runs, metric, claim.id, proto)
    return out


def _tuning_tables(claim: Claim, df: pd.DataFrame) -> dict[str, TuningTable]:
    out = {}
    for name, proto in claim.protocols.items():
        t = proto.tuning
        trials = df[(df["protocol"] == name) & (df["stage"] == "tune")] if len(df) else df
        if t is None or not len(trials):
            continue
        chosen = tuning.select_tuned(trials, t.metric)
        grid = trials.groupby("arm")[["trial", "seed"]].nunique()  # what actually ran
        means = trials.pivot_table(index="arm", columns="trial", values=t.metric, aggfunc="mean")
        out[name] = TuningTable(
            t.metric,
            sorted(set(trials["seed"])),
            list(dict.fromkeys(trials["trial"])),
            {a: dict(means.loc[a]) for a in means.index},
            chosen,
            {arm: (int(r.trial), int(r.seed)) for arm, r in grid.iterrows()},
            tuning.grid_edges(t.values, chosen),
        )
    return out


def _checks(claim, runs, used, protocols) -> dict[str, list[CheckRow]]:
    """Each secondary number the claim states, per protocol and arm."""
    out = {}
    for chk in claim.checks:
        pooled_key = METRICS[chk.metric].pooled_from
        rows = []
        for proto in protocols:
            ran = used[proto]
            summ = arm_summary(ran, chk.metric, claim.id, proto)
            stat = {r["arm"]: r for _, r in summ.iterrows()}
            recs = {(r.arm, r.seed): r for r in runs if r.protocol == proto and r.stage == "eval"}
            for arm in claim.protocols[proto].arms:
                if arm not in stat:
                    continue
                seeds = ran.loc[ran["arm"] == arm, "seed"]
                vecs = [
                    recs[(arm, s)].extras[pooled_key]
                    for s in seeds
                    if pooled_key and pooled_key in recs[(arm, s)].extras
                ]
                shown = {m: ran.loc[ran["arm"] == arm, m].mean() for m in chk.show if m in ran}
                pooled = pooled_entropy(vecs) if vecs else math.nan
                rows.append(CheckRow(proto, arm, pooled, stat[arm], shown))
        out[chk.name] = rows
    return out


def _faithful_seeds(claim, used, protocols) -> pd.DataFrame | None:
    """Seed x arm table of the faithful run on the headline's faithful metric, with a mean row."""
    e = claim.effects[0]
    if FAITHFUL not in protocols or e.metric is None:
        return None
    metric = faithful_metric(claim, protocols)
    runs = used[FAITHFUL]
    wide = runs.pivot_table(index="seed", columns="arm", values=metric, aggfunc="first")
    wide = wide[[a for a in claim.protocols[FAITHFUL].arms if a in wide]]
    return pd.concat([wide, wide.mean().to_frame("mean").T])


def headline_qs(results: list[ClaimResults]) -> list[float]:
    """Benjamini-Hochberg q-values across claims of each headline's confirmation p-value."""
    heads = [None if r.calibration else r.headline for r in results]  # A/A: not a discovery
    return benjamini_hochberg([h.p_confirm if h is not None else math.nan for h in heads])


def _claim_metrics(claim: Claim) -> list[str]:
    """Every metric the claim's effects, checks and tuning name."""
    names = []
    for e in claim.effects:
        names += [e.metric] + [p.metric for p in e.parts] + [o.metric for o in e.objectives]
    names += [c.metric for c in claim.checks] + [m for c in claim.checks for m in c.show]
    names += [p.tuning.metric for p in claim.protocols.values() if p.tuning is not None]
    return [n for n in dict.fromkeys(names) if n]
