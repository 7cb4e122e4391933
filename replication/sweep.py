"""Claim -> runs: the plan behind the claim sweeper (hydra_plugins/replication_sweeper).

A claim expands to protocol x arm x seed jobs. Each job is a list of Hydra overrides: the
claim's, the protocol's, the arm's, then the job's identity. A protocol with a tuning grid runs
in two stages: every arm tries every grid value on the tuning seeds, the best value per arm
(on the validation metric) is chosen by `tuning.select_tuned`, then the evaluation seeds run
with it.
Launching is left to the caller (a Hydra launcher), so this module has no Hydra state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from replication import records
from replication.analysis import ProtocolResult, design, evaluate_protocol
from replication.claims import Claim
from replication.records import run_id
from replication.tuning import select_tuned

IDENTITY_KEYS = ("claim_id", "protocol", "arm", "seed", "stage", "trial", "run_id", "launched_by")


@dataclass(frozen=True)
class Budget:
    name: str = "default"
    device: str = "cpu"  # only protocols on this device run under this profile
    max_seeds: int | None = None
    max_steps: int | None = None
    max_tune_values: int | None = None
    max_tune_seeds: int | None = None
    max_repeats: int | None = None  # measurement tasks: cap on timed repeats
    max_calls: int | None = None  # measurement tasks: cap on calls per timed repeat
    max_eval_windows: int | None = None  # language tasks: cap on evaluation windows
    long: bool = False  # also run the protocols marked long (conf/budget/long.yaml)


def runnable(claim: Claim, budget: Budget) -> list[str]:
    """The protocols this budget profile runs: those on its device (long ones only if the
    profile is long)."""
    return [
        n
        for n, p in claim.protocols.items()
        if p.device == budget.device and (budget.long or not p.long)
    ]


@dataclass(frozen=True)
class Job:
    claim_id: str
    protocol: str
    arm: str
    seed: int
    stage: str  # eval | tune
    trial: str | None  # e.g. "optim.lr=0.003" for a tuning trial or a tuned eval run
    config: tuple[str, ...]  # the claim/protocol/arm/trial overrides
    exclusive: bool = False  # run alone: nothing else may share the machine (timings)

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


def override_sources(
    claim: Claim, protocol: str, arm: str, budget: Budget
) -> list[tuple[str, str]]:
    """A job's overrides before its trial and identity, each with the claim field it comes
    from (so that an error in a composed config can name the field)."""
    proto = claim.protocols[protocol]
    where = f"protocols.{protocol}"
    return [
        *[(f"overrides[{i}]", o) for i, o in enumerate(claim.overrides)],
        (f"{where}.device", f"device={proto.device}"),
        *[(f"{where}.overrides[{i}]", o) for i, o in enumerate(proto.overrides)],
        *[(f"{where}.arms.{arm}[{i}]", o) for i, o in enumerate(proto.arms[arm])],
        *[
            (f"budgets.{budget.name}[{i}]", o)
            for i, o in enumerate(claim.budgets.get(budget.name, []))
        ],
    ]


def base_overrides(claim: Claim, protocol: str, arm: str, budget: Budget) -> list[str]:
    return [o for _, o in override_sources(claim, protocol, arm, budget)]


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
            proto.exclusive,
        )
        for arm in (t.arms or proto.arms)
        for v in _cap(t.values, budget.max_tune_values)
        for seed in _cap(t.seeds, budget.max_tune_seeds)
    ]


def eval_jobs(
    claim: Claim,
    protocol: str,
    budget: Budget,
    tuned: dict[str, str] | None = None,
    seeds: Sequence[int] | None = None,
) -> list[Job]:
    """Evaluation runs of the given seeds (default: all, capped by the budget); `tuned` maps
    arm -> its chosen trial override (tuned protocols)."""
    proto = claim.protocols[protocol]
    seeds = _cap(proto.seeds, budget.max_seeds) if seeds is None else seeds
    jobs = []
    for seed in seeds:
        for arm in proto.arms:  # seeds outer: a partial sweep still holds whole pairs
            trial = (tuned or {}).get(arm)
            extra = (trial,) if trial else ()
            config = (*base_overrides(claim, protocol, arm, budget), *extra)
            jobs.append(Job(claim.id, protocol, arm, seed, "eval", trial, config, proto.exclusive))
    return jobs


Launch = Callable[[list[Job]], list[dict]]


def planned_runs(claim: Claim, budget: Budget) -> int:
    """Upper bound on a claim's runs: every tuning trial and every look up to n_max."""
    total = 0
    for name in runnable(claim, budget):
        proto = claim.protocols[name]
        if proto.tuning is not None:
            total += len(tune_jobs(claim, name, budget))
        total += len(proto.arms) * design(proto, budget.max_seeds).n_max
    return total


def run_claim(
    claim: Claim,
    budget: Budget,
    launch: Launch,
    on_look: Callable[[ProtocolResult], None] | None = None,
) -> dict[str, dict[str, str]]:
    """Launch a claim's runs: tuning grids first, then evaluation seeds look by look.

    `launch` runs jobs and returns one records.frame_row() per job. After each batch every
    protocol is re-analysed (analysis.evaluate_protocol) and only protocols whose verdicts are
    still open get the seeds of their next look. Returns the tuned choice per protocol.
    """
    rows: list[dict] = []
    names = runnable(claim, budget)
    first = [j for n in names if claim.protocols[n].tuning for j in tune_jobs(claim, n, budget)]
    rows += launch(first) if first else []
    choices = {}
    for name in names:
        proto = claim.protocols[name]
        if proto.tuning is not None:
            trials = records.to_frame([r for r in rows if r["protocol"] == name])
            choices[name] = select_tuned(trials[trials["stage"] == "tune"], proto.tuning.metric)
    launched = dict.fromkeys(names, 0)
    reported: dict[str, int] = {}
    while True:
        batch = []
        for name in names:
            proto = claim.protocols[name]
            res = evaluate_protocol(
                records.to_frame([r for r in rows if r["protocol"] == name]),
                claim,
                name,
                budget.max_seeds,
            )
            if on_look is not None and res.n_used > reported.get(name, 0):
                on_look(res)
                reported[name] = res.n_used
            if res.finished:
                continue
            if launched[name] >= res.next_look:
                raise RuntimeError(
                    f"{claim.id}/{name}: look at {res.next_look} seeds has no "
                    "records after its runs were launched"
                )
            seeds = proto.seeds[launched[name] : res.next_look]
            batch += eval_jobs(claim, name, budget, choices.get(name), seeds)
            launched[name] = res.next_look
        if not batch:
            return choices
        rows += launch(batch)


def sample_jobs(claim: Claim, budget: Budget) -> list[Job]:
    """One job per distinct config this budget can launch: every arm of every protocol it
    runs (first seed), and every tuning value of every tuned arm (first tuning seed). Other
    seeds differ only in the seed; a tuned arm's evaluation runs use a tuning value's config.
    """
    out = []
    for name in runnable(claim, budget):
        proto = claim.protocols[name]
        tuned = set(proto.tuning.arms or proto.arms) if proto.tuning else set()
        if proto.tuning is not None:
            first = proto.tuning.seeds[0]
            out += [j for j in tune_jobs(claim, name, budget) if j.seed == first]
        out += [
            j for j in eval_jobs(claim, name, budget, seeds=proto.seeds[:1]) if j.arm not in tuned
        ]
    return out


def every_job(claim: Claim, budget: Budget) -> list[Job]:
    """Every run this budget may launch (tuning trials, every seed up to n_max): the places
    records may be written, checked before the first run starts."""
    jobs = []
    for name in runnable(claim, budget):
        proto = claim.protocols[name]
        if proto.tuning is not None:
            jobs += tune_jobs(claim, name, budget)
        n_max = design(proto, budget.max_seeds).n_max
        jobs += eval_jobs(claim, name, budget, seeds=proto.seeds[:n_max])
    return jobs
