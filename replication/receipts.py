"""What the runs used and cost, and the facts that separate the protocols, from the records.

Pure functions of the records frame: the parity receipt (what each arm actually used), the
deterministic compute of the runs the verdicts rest on, their measured time and energy, the
environment of every device whose records are used, and facts the report's "why" bullets state
(the test-set ceiling, parameters that never learn, tuning choices at the edge of the grid).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from replication import records
from replication.analysis import ProtocolResult
from replication.claims import Claim
from replication.tuning import grid_edges

ACCOUNTING = [  # (receipt column, record column)
    ("params", "acct_params_total"),
    ("params trained", "acct_params_trained"),
    ("FLOPs/example fwd", "acct_flops_per_example_forward"),
    ("FLOPs/example train step", "acct_flops_per_example_train"),
    ("steps", "acct_steps"),
    ("examples seen", "acct_examples_seen"),
]


@dataclass
class Facts:
    test_ceiling: dict[str, float]  # protocol -> mean share of test rows a model can get right
    untrained: dict[str, int]  # arm -> parameters that received no gradient (most over runs)
    edges: dict[str, list[str]]  # protocol -> "arm (value)" chosen at a grid edge


@dataclass
class Device:
    """One device whose records a report uses, with its software."""

    device: str
    name: str
    threads: list[int]
    versions: dict[str, str]
    versions_vary: bool
    records: int


@dataclass
class Receipts:
    parity: list[dict]  # one row per protocol x arm: ACCOUNTING values (as sets) and counts
    failed: list[str]  # "protocol/arm/seed=s: first line of the error"
    flops_note: str
    compute: list[dict]  # protocol, stage, runs, steps, flops (the runs the verdicts use)
    unused_records: int  # records beyond the last look
    cost: list[dict]  # protocol, stage, arm, runs, wall, cpu, wall per run, energy
    energy_methods: list[str]
    devices: list[Device] = field(default_factory=list)
    code: list[tuple[str, bool]] = field(default_factory=list)  # (sha, dirty)
    records: int = 0
    flops_per_run: dict[str, float] = field(default_factory=dict)  # protocol -> mean


def facts(claim: Claim, df: pd.DataFrame, chosen: dict[str, dict[str, str]]) -> Facts:
    ok = df[(df["stage"] == "eval") & (df["status"] == "complete")]
    ceiling = ok.groupby("protocol")["test_ceiling"].mean() if "test_ceiling" in ok else {}
    acct = ok.groupby(["protocol", "arm"])[["acct_params_total", "acct_params_trained"]].first()
    frozen = acct[acct["acct_params_trained"] < acct["acct_params_total"]]
    untrained: dict[str, int] = {}
    for (_, arm), row in frozen.iterrows():
        n = int(row["acct_params_total"] - row["acct_params_trained"])
        untrained[arm] = max(n, untrained.get(arm, 0))
    edges = {
        p: grid_edges(claim.protocols[p].tuning.values, c)
        for p, c in chosen.items()
        if claim.protocols[p].tuning is not None
    }
    return Facts({k: float(v) for k, v in dict(ceiling).items()}, untrained, edges)


def receipts(
    claim: Claim, df: pd.DataFrame, runs: list[records.RunRecord], protocols: dict
) -> Receipts:
    used = runs_used(df, claim, protocols)
    note = next((r.accounting["flops_note"] for r in runs if "flops_note" in r.accounting), "")
    failed = [
        f"`{r.protocol}/{r.arm}/seed={r.seed}`: {(r.error or '').splitlines()[0]}"
        for r in runs
        if r.status == "failed"
    ]
    out = Receipts(
        _parity(claim, df),
        failed,
        note,
        _compute(used) if len(df) else [],
        len(df) - len(used),
        _cost(used),
        sorted({r.energy["method"] for r in runs if r.energy.get("method")}),
        devices(runs),
        sorted({(r.environment["git_sha"][:12], r.environment["git_dirty"]) for r in runs}),
        len(runs),
    )
    for name, p in protocols.items():
        ev = verdict_runs(df, claim, name, p.n_used)
        out.flops_per_run[name] = float(
            (ev["acct_flops_per_example_train"] * ev["acct_examples_seen"]).mean()
        )
    return out


def verdict_runs(df: pd.DataFrame, claim: Claim, protocol: str, n: int) -> pd.DataFrame:
    """The runs a verdict uses: completed evaluation runs of the protocol's first n seeds."""
    seeds = set(claim.protocols[protocol].seeds[:n])
    return df[
        (df["protocol"] == protocol)
        & (df["stage"] == "eval")
        & (df["status"] == "complete")
        & df["seed"].isin(seeds)
    ]


def runs_used(df: pd.DataFrame, claim: Claim, protocols: dict[str, ProtocolResult]) -> pd.DataFrame:
    """Every record the verdicts rest on: tuning runs and the evaluation seeds the looks used."""
    parts = []
    for name, p in protocols.items():
        seeds = set(claim.protocols[name].seeds[: p.n_used])
        mine = df[df["protocol"] == name]
        parts.append(mine[(mine["stage"] == "tune") | mine["seed"].isin(seeds)])
    return pd.concat(parts) if parts else df.iloc[:0]


def _parity(claim: Claim, df: pd.DataFrame) -> list[dict]:
    rows = []
    for proto_name, proto in claim.protocols.items():
        sub = df[(df["protocol"] == proto_name) & (df["stage"] == "eval")] if len(df) else df
        for arm in proto.arms:
            a = sub[sub["arm"] == arm] if len(sub) else sub
            row = {"protocol": proto_name, "arm": arm, "ran": bool(len(a))}
            if len(a):
                ok = a[a["status"] != "failed"]  # diverged runs ran: their accounting is real
                row |= {col: sorted(set(ok[src].dropna())) for col, src in ACCOUNTING}
                row |= dict(a["status"].value_counts())
            rows.append(row)
    return rows


def _compute(used: pd.DataFrame) -> list[dict]:
    flops = used["acct_flops_per_example_train"] * used["acct_examples_seen"]
    rows = [
        {
            "protocol": p,
            "stage": s,
            "runs": len(g),
            "steps": g["acct_steps"].sum(),
            "flops": g["_flops"].sum(),
        }
        for (p, s), g in used.assign(_flops=flops).groupby(["protocol", "stage"], sort=True)
    ]
    return [*rows, {"protocol": "all", "stage": "", "runs": len(used),
                    "steps": used["acct_steps"].sum(), "flops": flops.sum()}]  # fmt: skip


def _cost(used: pd.DataFrame) -> list[dict]:
    def row(g: pd.DataFrame, **key) -> dict:
        return key | {
            "runs": len(g),
            "wall": g["time_wall_s"].sum(),
            "cpu": g["time_cpu_s"].sum(),
            "wall_per_run": g["time_wall_s"].mean(),
            "energy": g["energy_j"].sum(),
        }

    keys = ["protocol", "stage", "arm"]
    rows = [row(g, **dict(zip(keys, k, strict=True))) for k, g in used.groupby(keys, sort=True)]
    return [*rows, row(used, protocol="all", stage="", arm="")]


def devices(runs: list[records.RunRecord]) -> list[Device]:
    """Each device the records ran on (cpu, cuda), with its name, threads and packages."""
    out = []
    for dev in sorted({r.environment["device"] for r in runs}):
        envs = [r.environment for r in runs if r.environment["device"] == dev]
        first = envs[0]["versions"]
        out.append(
            Device(
                dev,
                ", ".join(sorted({e["device_name"] for e in envs})),
                sorted({e["torch_threads"] for e in envs}),
                first,
                any(e["versions"] != first for e in envs),
                len(envs),
            )
        )
    return out
