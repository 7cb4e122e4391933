"""The noise floor: what an A/A claim's records say about run-to-run noise (docs/noise-floor.md).

An A/A claim compares one configuration with itself: its treatment and baseline arms have the
same overrides except `train.seed_stream`, so every difference between them is noise. For each
of its comparisons, `floors()` gives the number of complete pairs, the mean and the sd of the
paired difference on the analysis scale (replication/stats.py `differences`: T - B, or the
log-ratio for relative and ratio scales; + = the claimed direction), a chi-square interval for
that sd, and the CI of the mean in the claim's units (a factor for ratio timings). `match()`
says which A/A floor applies to a real claim's effect: the same task (the composed `task`
group of the effect's arms), metric and device.

Pure functions over claims and records; nothing is rendered here.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from scipy import stats as st

from replication import CONF_DIR, records
from replication.claims import (
    Claim,
    Direction,
    Effect,
    Kind,
    Scale,
    from_analysis_scale,
)
from replication.stats import confidence_interval, differences, paired_table
from replication.sweep import Budget, base_overrides

LEVEL = 0.95  # of the floor's intervals (one look, no sequential split: a description)
STREAM_KEY = "train.seed_stream"
COMPARED = (Kind.superiority, Kind.non_inferiority, Kind.equivalence)  # two arms, one metric


@dataclass(frozen=True)
class Floor:
    """Run-to-run noise of one A/A comparison (analysis scale unless named `shown`)."""

    claim_id: str
    effect: str
    protocol: str
    task: str  # the composed `task` group of both arms (e.g. spiral, kernel_bench)
    metric: str
    device: str  # the protocol's device: a CPU floor says nothing about a GPU
    scale: Scale
    direction: Direction | None
    n: int  # complete pairs
    mean: float  # mean paired difference, + = the claimed direction
    sd: float  # sd of the paired difference (ddof 1): the noise floor
    sd_low: float  # LEVEL chi-square interval of that sd (normal differences)
    sd_high: float
    shown_mean: float  # the mean in the claim's units: a fraction, a factor or absolute
    shown_low: float  # the CI of the mean (stats.confidence_interval) in the claim's units
    shown_high: float
    ci_method: str


def _parsed(claim: Claim, protocol: str, arm: str) -> list[tuple[str, str, object]]:
    """(override, key or group, value) of every override an arm's runs get (claim, protocol,
    arm), parsed by Hydra's own parser."""
    ovs = base_overrides(claim, protocol, arm, Budget())
    return [
        (o, p.key_or_group, p.value())
        for o, p in zip(ovs, _parser().parse_overrides(ovs), strict=True)
    ]


def arm_task(claim: Claim, protocol: str, arm: str) -> str:
    """The `task` option an arm's runs compose: the last `task=` among the claim's, the
    protocol's and the arm's overrides, else conf/config.yaml's default."""
    found = [str(v) for _, k, v in _parsed(claim, protocol, arm) if k == "task"]
    return found[-1] if found else _default_task()


def arm_stream(claim: Claim, protocol: str, arm: str) -> int:
    """The arm's `train.seed_stream` (0 unless its overrides set one)."""
    found = [int(v) for _, k, v in _parsed(claim, protocol, arm) if k == STREAM_KEY]
    return found[-1] if found else 0


def is_aa(claim: Claim, effect: Effect) -> bool:
    """True when the effect compares one configuration with itself: two arms of its protocol
    whose overrides are the same apart from `train.seed_stream`, which differs."""
    if effect.kind not in COMPARED or effect.treatment == effect.baseline:
        return False
    p, t, b = effect.protocol, effect.treatment, effect.baseline

    def rest(arm: str) -> list[str]:
        return [o for o, k, _ in _parsed(claim, p, arm) if k != STREAM_KEY]

    return rest(t) == rest(b) and arm_stream(claim, p, t) != arm_stream(claim, p, b)


def floors(
    claim: Claim, runs: list[records.RunRecord] | list[dict], max_seeds: int | None = None
) -> list[Floor]:
    """One Floor per A/A comparison of the claim (in effect order), from the complete
    evaluation pairs of the first `max_seeds` seeds of its protocol (default: all recorded).
    Effects that are not A/A (is_aa) are left out: their difference is not noise alone."""
    df = records.to_frame(runs)
    out = []
    for e in claim.effects:
        if not is_aa(claim, e):
            continue
        proto = claim.protocols[e.protocol]
        metric = proto.metrics.get(e.metric, e.metric)
        seeds = set(proto.seeds[:max_seeds])
        sub = df[(df["protocol"] == e.protocol) & df["seed"].isin(seeds)] if len(df) else df
        pairs = paired_table(sub, metric, e.treatment, e.baseline)
        d = differences(pairs, e.scale, e.direction) if len(pairs) else np.array([])
        out.append(
            floor_of(d, claim, e, arm_task(claim, e.protocol, e.treatment), metric, proto.device)
        )
    return out


def floor_of(d: np.ndarray, claim: Claim, e: Effect, task: str, metric: str, device: str) -> Floor:
    """The Floor of one comparison from its paired differences on the analysis scale."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if n > 1:  # (n - 1) s^2 / sigma^2 ~ chi2(n - 1)
        a = 1 - LEVEL
        sd_low = sd * math.sqrt((n - 1) / st.chi2.ppf(1 - a / 2, n - 1))
        sd_high = sd * math.sqrt((n - 1) / st.chi2.ppf(a / 2, n - 1))
    else:
        sd_low = sd_high = math.nan
    ci = confidence_interval(d, level=LEVEL)
    mean = float(d.mean()) if n else math.nan

    def shown(x: float) -> float:
        return from_analysis_scale(x, e.scale, e.direction)

    return Floor(
        claim_id=claim.id,
        effect=e.name,
        protocol=e.protocol,
        task=task,
        metric=metric,
        device=device,
        scale=e.scale,
        direction=e.direction,
        n=n,
        mean=mean,
        sd=sd,
        sd_low=sd_low,
        sd_high=sd_high,
        shown_mean=shown(mean),
        shown_low=shown(ci.low),
        shown_high=shown(ci.high),
        ci_method=ci.method,
    )


def match(claim: Claim, effect: Effect, available: list[Floor]) -> Floor | None:
    """The A/A floor that applies to a real claim's effect: same task (both arms), metric (as
    the effect's protocol measures it) and device; of those, one on the effect's scale if
    there is one, else the first. None for frontier and compound effects, for arms on
    different tasks, and when no A/A claim measures that task and metric."""
    if effect.kind not in COMPARED:
        return None
    proto = claim.protocols[effect.protocol]
    task = arm_task(claim, effect.protocol, effect.treatment)
    if arm_task(claim, effect.protocol, effect.baseline) != task:
        return None
    key = (task, proto.metrics.get(effect.metric, effect.metric), proto.device)
    found = [f for f in available if (f.task, f.metric, f.device) == key]
    same_scale = [f for f in found if f.scale is effect.scale]
    return (same_scale or found or [None])[0]


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


@functools.cache
def _default_task() -> str:
    """The `task` entry of conf/config.yaml's defaults list."""
    conf = yaml.safe_load((CONF_DIR / "config.yaml").read_text())
    for item in conf["defaults"]:
        if isinstance(item, dict) and "task" in item:
            return str(item["task"])
    raise LookupError("conf/config.yaml has no task default")
