"""Everything a report shows, computed once from a claim's run records."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from replication import records
from replication.analysis import ProtocolResult, Result, evaluate_claim
from replication.claims import VERDICT_PROTOCOL, Claim
from replication.stats import arm_summary
from replication.sweep import select_tuned

FAITHFUL = "faithful"


@dataclass
class ClaimResults:
    claim: Claim
    runs: list[records.RunRecord]
    df: pd.DataFrame
    protocols: dict[str, ProtocolResult]  # only protocols with records
    tuned: dict[str, dict[str, str]]  # protocol -> arm -> chosen trial
    problems: list[str]  # records that failed their checks (left out, re-run by replicate)
    tuning_ran: dict[str, dict[str, tuple[int, int]]]  # protocol -> arm -> (values, seeds)
    runs_dir: str = "runs"  # where the records were read (a path as the user gave it)

    @property
    def headline(self) -> Result | None:
        audit = self.protocols.get(VERDICT_PROTOCOL)
        return audit.results.get(self.claim.effects[0].name) if audit else None

    def result(self, protocol: str, effect: str) -> Result | None:
        p = self.protocols.get(protocol)
        return p.results.get(effect) if p else None

    def used(self, protocol: str, n: int | None = None) -> pd.DataFrame:
        """Completed evaluation runs of the first n seeds (default: all the looks used)."""
        p = self.protocols[protocol]
        seeds = set(self.claim.protocols[protocol].seeds[: n or p.n_used])
        df = self.df
        return df[
            (df["protocol"] == protocol)
            & (df["stage"] == "eval")
            & (df["status"] == "complete")
            & df["seed"].isin(seeds)
        ]

    def arm_means(self, protocol: str, metric: str, n: int | None = None) -> dict[str, pd.Series]:
        summ = arm_summary(self.used(protocol, n), metric, self.claim.id, protocol)
        return {r["arm"]: r for _, r in summ.iterrows()}


def analyse(
    claim: Claim,
    runs: list[records.RunRecord],
    max_seeds: int | None = None,
    problems: list[str] | None = None,
    runs_dir: str = "runs",
) -> ClaimResults:
    df = records.to_frame(runs)
    named = [m for m in _claim_metrics(claim) if m not in df]
    df = df.reindex(columns=[*df.columns, *named])  # e.g. every run failed: columns stay
    present = set(df["protocol"]) if len(df) else set()
    protocols = {
        name: res for name, res in evaluate_claim(df, claim, max_seeds).items() if name in present
    }
    tuned, ran = {}, {}
    for name, proto in claim.protocols.items():
        trials = df[(df["protocol"] == name) & (df["stage"] == "tune")] if len(df) else df
        if proto.tuning is not None and len(trials):
            tuned[name] = select_tuned(trials, proto.tuning.metric)
            grid = trials.groupby("arm")[["trial", "seed"]].nunique()  # what actually ran
            ran[name] = {arm: (int(r.trial), int(r.seed)) for arm, r in grid.iterrows()}
    return ClaimResults(claim, runs, df, protocols, tuned, problems or [], ran, runs_dir)


def _claim_metrics(claim: Claim) -> list[str]:
    """Every metric the claim's effects, checks and tuning name."""
    names = []
    for e in claim.effects:
        names += [e.metric] + [p.metric for p in e.parts] + [o.metric for o in e.objectives]
    names += [c.metric for c in claim.checks]
    names += [p.tuning.metric for p in claim.protocols.values() if p.tuning is not None]
    return [n for n in dict.fromkeys(names) if n]
