"""One-off migration of records made before energy windows (docs/energy.md, runs/MIGRATIONS.md).

Records written before replication/energy.py measured windows hold `energy` as
{joules, measured, method: "estimate: ...", device}: CPU time x 4 W. This rewrites each such
record's `energy` in the current layout, from the record's own timing: the estimate is
recomputed with the current model (CPU time x W per thread + wall time x memory x W/GB,
conf/energy/default.yaml) over the one window the run had (its training loop, or the whole
benchmark run), and the record says it was migrated. Metrics, config and identity are
untouched; the checksum is recomputed. A record whose energy already has the current layout
is left alone; a GPU record is never migrated (its board counter cannot be re-read), and a
crashed run's energy becomes `not_measured` with that reason.

    python -m replication.migrate_energy runs [--dry-run]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from replication import energy, records

NOTE = (
    "migrated 2026-12-02 from the pre-window layout: joules recomputed from this record's "
    "timing (cpu_s, wall_s) with the current estimate model"
)


def migrated(rec: records.RunRecord) -> dict | None:
    """The record's energy in the current layout, or None if it needs no migration."""
    e = rec.energy
    if "scope" in e or rec.environment.get("device", "cpu").startswith("cuda"):
        return None
    s = energy.Settings()
    if rec.status == "failed" or not rec.timing:
        why = "the run crashed before its energy was measured"
        return {"method": "not_measured", "measured": False, "joules": None, "reason": why,
                "migrated": NOTE}  # fmt: skip
    wall, cpu = rec.timing["wall_s"], rec.timing["cpu_s"]
    joules = cpu * s.cpu_w_per_thread + wall * s.memory_gb * s.memory_w_per_gb
    training = "steps" in rec.accounting
    steps = int(rec.accounting.get("steps", 0))
    batch = int(rec.config.get("train", {}).get("batch_size", 1)) if training else 1
    out = {
        "method": "estimate",
        "counter": energy.EstimateCounter(s).name,
        "measured": False,
        "scope": "training loop" if training else "whole benchmark run",
        "device": rec.environment.get("device", "cpu"),
        "windows": [{"joules": joules, "seconds": wall, "steps": steps, "reason": ""}],
        "window_s": wall,
        "steps": steps,
        "examples": steps * batch,
        "idle_w": [],
        "cpu_estimate_joules": joules,
        "settings": dataclasses.asdict(s),
        "joules": joules,
        "net_joules": None,
        "reason": "",
        "migrated": NOTE,
    }
    if steps:
        out |= {"j_per_step": joules / steps, "net_j_per_step": None}
        out["j_per_example"] = joules / out["examples"]
    return out


def migrate(root: Path, dry_run: bool = False) -> tuple[int, int]:
    """Rewrite every record under root that needs it; returns (migrated, left alone)."""
    done = kept = 0
    for path in sorted(root.rglob(records.RECORD_NAME)):
        rec = records.read(path)
        new = migrated(rec)
        if new is None:
            kept += 1
            continue
        rec.energy = new
        if not dry_run:
            records.write(rec, path, root)
        done += 1
    return done, kept


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path)
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args()
    done, kept = migrate(a.root, a.dry_run)
    print(f"{a.root}: {done} record(s) migrated, {kept} left alone")


if __name__ == "__main__":
    main()
