"""Progress of a long sweep: runs done of those planned, elapsed time, ETA, current verdicts.

Shown on a terminal, quiet elsewhere (CI sets CI=true and pipes the output) unless the sweep's
`progress` setting forces it on or off. Lines go to stderr so logs stay parseable.
"""

from __future__ import annotations

import math
import os
import sys
import time

from replication.analysis import ProtocolResult


def enabled(setting: str) -> bool:
    if setting in ("on", "off"):
        return setting == "on"
    return sys.stderr.isatty() and not os.environ.get("CI")


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(round(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    def __init__(self, claim_id: str, planned: int, show: bool) -> None:
        self.claim_id, self.planned, self.show = claim_id, planned, show
        self.done, self.start = 0, time.perf_counter()

    def runs(self, n: int) -> None:
        """n more runs finished (cached ones included)."""
        self.done += n
        if not self.show:
            return
        elapsed = time.perf_counter() - self.start
        left = max(self.planned - self.done, 0)
        eta = elapsed / self.done * left if self.done else math.inf
        pct = 100 * self.done / max(self.planned, 1)
        self._print(
            f"{self.done}/{self.planned} runs ({pct:.0f}%), {_clock(elapsed)} elapsed, "
            f"ETA <= {_clock(eta)} (if every look runs)"
        )

    def look(self, result: ProtocolResult) -> None:
        """A protocol's verdicts after its latest look."""
        if not self.show or not result.results:
            return
        decided = sum(r.decision.final for r in result.results.values())
        head = next(iter(result.results.values()))
        self._print(
            f"{result.protocol} at {result.n_used} seeds: {head.name} {head.decision}; "
            f"{decided}/{len(result.results)} comparisons decided"
        )

    def _print(self, text: str) -> None:
        print(f"[{self.claim_id}] {text}", file=sys.stderr, flush=True)
