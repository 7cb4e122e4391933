"""The noise-floor section of a claim report: an A/A claim's own floor, or the floor each
effect of a real claim is read against (replication/noise.py computes them)."""

from __future__ import annotations

from replication.report import fmt
from replication.results import ClaimResults


def noise(res: ClaimResults) -> list[str]:
    """The A/A noise floor: an A/A claim's own, or the one each effect is read against."""
    if res.calibration:
        rows = [
            [f"`{f.effect}`", f.metric, f.n, _sd(f, f.sd),
             f"[{_sd(f, f.sd_low)}, {_sd(f, f.sd_high)}]", _mean_ci(f)]
            for f in res.own_floors
        ]  # fmt: skip
        intro = (
            "This is an A/A claim: treatment and baseline are one configuration from "
            "independent seed streams, so every difference below is run-to-run noise "
            "(docs/noise-floor.md). The floor is the sd of the paired difference over all "
            "recorded pairs (log-ratio sds shown x 100 as %), with a 95% chi-square interval; "
            "the mean difference has a 95% CI."
        )
        header = ["comparison", "metric", "pairs", "floor (sd)", "95% interval of the sd",
                  "mean difference [95% CI]"]  # fmt: skip
        return ["## Noise floor (A/A)", "", intro, "", *fmt.table(header, rows), ""]
    if not res.floors:
        return []
    rows = [
        [f"`{name}`", f"[{f.claim_id}]({f.claim_id}.md) `{f.effect}`", f.n, _sd(f, f.sd),
         _mean_ci(f)]
        for name, f in res.floors.items()
    ]  # fmt: skip
    header = ["comparison", "A/A floor from", "pairs", "floor (sd)", "A/A mean [95% CI]"]
    return [
        "## Noise floor (A/A)",
        "",
        "What the same configuration gives against itself on the same task, metric and "
        "device (an A/A calibration claim): the sd of its paired difference (log-ratio sds "
        "shown x 100 as %), and its mean difference with a 95% CI, which an effect must clear "
        "to be more than noise. The A/A arms share no random numbers, so this floor is at "
        "least the paired noise of a real comparison; timings are of the machine and load "
        "they were measured on.",
        "",
        *fmt.table(header, rows),
        "",
    ]


def _sd(f, x: float) -> str:
    return fmt.spread(x, f.scale, f.metric)


def _mean_ci(f) -> str:
    return f"{fmt.diff(f.shown_mean, f)} [{fmt.diff(f.shown_low, f)}, {fmt.diff(f.shown_high, f)}]"
