"""Run records: one JSON file per training run, written atomically, read back as a DataFrame.

Layout: runs/<claim>/<protocol>/<arm>/seed=<n>/record.json (tuning trials under
<arm>/tune/<param>=<value>/seed=<n>/). A record is complete or absent: it is written to a
temporary file and renamed, so a run killed halfway leaves nothing that could be read as a
result, and running the claim again redoes exactly the missing runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SCHEMA_VERSION = 1
RECORD_NAME = "record.json"
HASH_EXCLUDE = ("paths",)  # where files go does not change what a run computes


class RecordError(ValueError):
    """A record file that exists but cannot be trusted; names the path."""


@dataclass
class RunRecord:
    claim_id: str
    protocol: str
    arm: str
    seed: int
    stage: str  # eval | tune
    trial: str | None  # the tuning override of a tune-stage run
    status: str  # complete | diverged
    metrics: dict[str, float]  # final scalar metrics, names from replication.metrics
    curve: list[dict]  # [{"step": s, "val_accuracy": ..., ...}] every eval_every steps
    extras: dict  # non-scalar diagnostics (e.g. mean routing weights)
    config: dict  # the resolved job config
    config_hash: str
    overrides: list[str]  # the Hydra overrides that produced the config
    accounting: dict  # params, FLOPs per example, steps, examples seen
    timing: dict  # wall and process CPU seconds of the training loop
    energy: dict  # joules, method, and whether it was measured or estimated
    environment: dict  # device, threads, git SHA, package versions, host
    diverged_at: int | None = None
    schema: int = SCHEMA_VERSION
    created: str = ""


def run_id(protocol: str, arm: str, seed: int, trial: str | None = None) -> str:
    """The record's folder below runs/<claim>/; also its identity inside a claim."""
    middle = f"{arm}/tune/{trial}" if trial else arm
    return f"{protocol}/{middle}/seed={seed}"


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of the config, without the keys in HASH_EXCLUDE."""
    kept = {k: v for k, v in config.items() if k not in HASH_EXCLUDE}
    blob = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write(record: RunRecord, path: Path) -> None:
    """Atomic: write a temp file in the same folder, fsync, rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(dataclasses.asdict(record), fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read(path: Path) -> RunRecord:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: unreadable record ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
        raise RecordError(f"{path}: not a schema-{SCHEMA_VERSION} run record")
    try:
        return RunRecord(**data)
    except TypeError as err:
        raise RecordError(f"{path}: malformed record ({err})") from None


def read_if_current(path: Path, expected_hash: str) -> RunRecord | None:
    """The record at path if it exists, parses and was made from the same config; else None."""
    if not path.is_file():
        return None
    try:
        rec = read(path)
    except RecordError:
        return None
    return rec if rec.config_hash == expected_hash else None


def find(runs_dir: Path | str, claim_id: str) -> list[Path]:
    return sorted((Path(runs_dir) / claim_id).rglob(RECORD_NAME))


def load(runs_dir: Path | str, claim_id: str) -> list[RunRecord]:
    """Every record of a claim; a corrupt one stops the load with its path (never skipped)."""
    return [read(p) for p in find(runs_dir, claim_id)]


def frame_row(r: RunRecord) -> dict:
    """A record as one table row: identity, status, metrics, then accounting (acct_*),
    timing (time_*) and energy. `params` and `flops_per_example` double as metrics."""
    row = {
        "protocol": r.protocol,
        "arm": r.arm,
        "seed": r.seed,
        "stage": r.stage,
        "trial": r.trial,
        "status": r.status,
        "config_hash": r.config_hash,
    }
    row |= r.metrics
    row["params"] = r.accounting.get("params_total")
    row["flops_per_example"] = r.accounting.get("flops_per_example_forward")
    row |= {f"acct_{k}": v for k, v in r.accounting.items()}
    row |= {f"time_{k}": v for k, v in r.timing.items()}
    row["energy_j"] = r.energy.get("joules")
    return row


def to_frame(records: list[RunRecord] | list[dict]) -> pd.DataFrame:
    """One row per run (see frame_row); accepts records or rows already made."""
    rows = [r if isinstance(r, dict) else frame_row(r) for r in records]
    cols = ["protocol", "arm", "seed", "stage", "trial", "status", "config_hash"]
    df = pd.DataFrame(rows, columns=None if rows else cols)
    return df.sort_values(["protocol", "stage", "arm", "seed"], kind="stable").reset_index(
        drop=True
    )
