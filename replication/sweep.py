"""Claim -> runs: the plan behind the claim sweeper (hydra_plugins/replication_sweeper).

A claim expands to protocol x arm x seed jobs. Each job is a list of Hydra overrides: the
claim's, the protocol's, the arm's, then the job's identity. A protocol with a tuning grid runs
in two stages: every arm tries every grid value on the tuning seeds, the best value per arm
(on the validation metric) is chosen by `select_tuned`, then the evaluation seeds run with it.
Launching is left to the caller (a Hydra launcher), so this module has no Hydra state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from replication.claims import Claim, ClaimError
from replication.metrics import METRICS
from replication.records import run_id

IDENTITY_KEYS = ("claim_id", "protocol", "arm", "seed", "stage", "trial", "run_id", "launched_by")


@dataclass(frozen=True)
class Budget:
    name: str = "default"
    max_seeds: int | None = None
    max_steps: int | None = None
    max_tune_values: int | None = None
    max_tune_seeds: int | None = None


@dataclass(frozen=True)
class Job:
    claim_id: str
    protocol: str
    arm: str
    seed: int
    stage: str  # eval | tune
    trial: str | None  # e.g. "optim.lr=0.003" for a tuning trial or a tuned eval run
    config: tuple[str, ...]  # the claim/protocol/arm/trial overrides

    @property
    def run_id(self) -> str:
        return run_id(
            self.protocol, self.arm, self.seed, self.trial if self.stage == "tune" else None
        )

    def overrides(self, extra: Sequence[str] = ()) -> list[str]:
        """All overrides of the job; `extra` (the command line) goes before the identity keys."""
        identity = [
            f"claim_id={self.claim_id}",
            f"protocol={self.protocol}",
            f"arm={self.arm}",
            f"seed={self.seed}",
            f"stage={self.stage}",
            f"trial='{self.trial}'" if self.trial else "trial=null",
            f"run_id='{self.run_id}'",
            "launched_by=claim_sweeper",
        ]
        return [*self.config, *extra, *identity]


def _cap(items: Sequence, n: int | None) -> list:
    return list(items if n is None else items[:n])


def base_overrides(claim: Claim, protocol: str, arm: str, budget: Budget) -> list[str]:
    proto = claim.protocols[protocol]
    return [
        *claim.overrides,
        *proto.overrides,
        *proto.arms[arm],
        *claim.budgets.get(budget.name, []),
    ]


def trial_override(param: str, value: float) -> str:
    return f"{param}={value}"


def tune_jobs(claim: Claim, protocol: str, budget: Budget) -> list[Job]:
    proto = claim.protocols[protocol]
    assert proto.tuning is not None
    t = proto.tuning
    return [
        Job(
            claim.id,
            protocol,
            arm,
            seed,
            "tune",
            trial_override(t.param, v),
            (*base_overrides(claim, protocol, arm, budget), trial_override(t.param, v)),
        )
        for arm in proto.arms
        for v in _cap(t.values, budget.max_tune_values)
        for seed in _cap(t.seeds, budget.max_tune_seeds)
    ]


def eval_jobs(
    claim: Claim, protocol: str, budget: Budget, tuned: dict[str, str] | None = None
) -> list[Job]:
    """Evaluation runs; `tuned` maps arm -> its chosen trial override (tuned protocols)."""
    proto = claim.protocols[protocol]
    jobs = []
    for seed in _cap(proto.seeds, budget.max_seeds):
        for arm in proto.arms:  # seeds outer: a partial sweep still holds whole pairs
            trial = (tuned or {}).get(arm)
            extra = (trial,) if trial else ()
            config = (*base_overrides(claim, protocol, arm, budget), *extra)
            jobs.append(Job(claim.id, protocol, arm, seed, "eval", trial, config))
    return jobs


def select_tuned(trials: pd.DataFrame, metric: str) -> dict[str, str]:
    """Best trial per arm by mean `metric` over tuning seeds; ties go to the earlier trial.

    trials: one row per tuning run with columns arm, trial, seed, status, <metric>; rows in
    grid order. A diverged trial counts as the worst possible value.
    """
    higher = METRICS[metric].higher_is_better
    worst = float("-inf") if higher else float("inf")
    df = trials.copy()
    df["_score"] = df[metric].where(df["status"] == "complete", worst).fillna(worst)
    order = {t: i for i, t in enumerate(dict.fromkeys(df["trial"]))}
    means = df.groupby(["arm", "trial"], sort=False)["_score"].mean().reset_index()
    means["_order"] = means["trial"].map(order)
    means = means.sort_values(["arm", "_order"])
    best = {}
    for arm, grp in means.groupby("arm", sort=False):
        scores = grp["_score"] if higher else -grp["_score"]
        best[arm] = grp["trial"].iloc[int(scores.to_numpy().argmax())]
    return best


def summaries_frame(summaries: list[dict], metric: str) -> pd.DataFrame:
    """The run summaries returned by run.run() as the table select_tuned expects."""
    return pd.DataFrame(
        [
            {
                "arm": s["arm"],
                "trial": s["trial"],
                "seed": s["seed"],
                "status": s["status"],
                metric: s["metrics"].get(metric),
            }
            for s in summaries
        ]
    )


Launch = Callable[[list[Job]], list[dict]]


def run_claim(claim: Claim, budget: Budget, launch: Launch) -> dict[str, dict[str, str]]:
    """Launch every run of the claim in two stages; returns the tuned choices per protocol."""
    tuned_protocols = {n: p for n, p in claim.protocols.items() if p.tuning is not None}
    stage_a: list[Job] = []
    for name in claim.protocols:
        stage_a += (tune_jobs if name in tuned_protocols else eval_jobs)(claim, name, budget)
    done = launch(stage_a)
    choices: dict[str, dict[str, str]] = {}
    stage_b: list[Job] = []
    for name, proto in tuned_protocols.items():
        ids = {j.run_id for j in stage_a if j.protocol == name}
        mine = [s for s in done if s["run_id"] in ids]
        choices[name] = select_tuned(
            summaries_frame(mine, proto.tuning.metric), proto.tuning.metric
        )
        stage_b += eval_jobs(claim, name, budget, choices[name])
    if stage_b:
        launch(stage_b)
    return choices


def check_composes(
    claim: Claim, compose: Callable[[list[str]], object], extra: Sequence[str]
) -> None:
    """Compose every arm's config before anything runs; a failure names the claim field."""

    def attempt(where: str, overrides: list[str]) -> None:
        try:
            compose([*overrides, *extra])
        except Exception as err:  # Hydra raises several types; all mean "cannot compose"
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ClaimError(claim.path, where, msg) from None

    attempt("overrides", list(claim.overrides))
    for name, proto in claim.protocols.items():
        base = [*claim.overrides, *proto.overrides]
        attempt(f"protocols.{name}.overrides", base)
        for arm, ovs in proto.arms.items():
            attempt(f"protocols.{name}.arms.{arm}", [*base, *ovs])
        if proto.tuning is not None:
            arm0 = next(iter(proto.arms.values()))
            for v in proto.tuning.values:
                attempt(
                    f"protocols.{name}.tuning.param",
                    [*base, *arm0, trial_override(proto.tuning.param, v)],
                )
    for profile, ovs in claim.budgets.items():
        attempt(f"budgets.{profile}", [*claim.overrides, *ovs])
