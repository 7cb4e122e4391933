"""Run records: one JSON file per training run, written atomically, read back as a DataFrame.

Layout: runs/<claim>/<protocol>/<arm>/seed=<n>/record.json (tuning trials under
<arm>/tune/<param>=<value>/seed=<n>/).

Identity: a record belongs to a run if it sits at the run's folder and carries the run's
config hash: sha256 of the resolved job config (without `paths`, `sweep` and the budget profile's
name: two profiles with the same caps run the same thing; without a NEUTRAL knob at its neutral
value: a knob added later leaves older records current) plus COMPUTE_VERSION. The git
SHA is recorded but is not part of the identity, so editing docs or reports does not
invalidate results; a code change that alters what runs compute must bump COMPUTE_VERSION
(docs/running.md).

Integrity: a record is written to a temporary file of its writer, fsynced and renamed, only
under the runs root, and carries a sha256 checksum of its own content. A torn, truncated or
edited record fails the checksum and is treated as absent (reported with its path, run
again), never read as a result; a record that is a link is never read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from replication import energy as energy_settings
from replication import workspace

SCHEMA_VERSION = 2
COMPUTE_VERSION = 2  # bump when a code change alters what runs compute (invalidates records)
# 2: attention FLOPs counted through the math SDPA path (fused CPU kernels counted as 0)
RECORD_NAME = "record.json"
HASH_EXCLUDE = ("paths", "sweep")  # where files go and how the sweep runs change no result
# A new knob at its neutral value does not change a run's identity: config_hash drops these
# (section, key) pairs when they hold the value given, so adding a knob to conf/ leaves every
# existing record current, and only runs that set it otherwise hash differently.
NEUTRAL = {
    ("train", "seed_stream"): 0,  # replication/run.py effective_seed: 0 = `seed` itself
    # conf/task/step_bench.yaml knobs added with the GPU step and energy windows
    ("task", "compile_model"): False,
    ("task", "autocast"): None,
    ("task", "energy_windows"): 0,
    # conf/model/charlm.yaml knobs added with the shape claims (issue 11)
    ("model", "attn"): None,
    ("model", "moe"): None,
    ("model", "out_bias"): True,
    # conf/budget/default.yaml caps added after the first records
    ("budget", "max_calls"): None,
    ("budget", "max_eval_windows"): None,
    # conf/energy/default.yaml (replication/energy.py Settings), added after the first records
    **{("energy", k): v for k, v in dataclasses.asdict(energy_settings.Settings()).items()},
}
STATUSES = ("complete", "diverged", "failed")


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
    status: str  # complete | diverged (loss not finite: final) | failed (crashed: retried)
    metrics: dict[str, float]  # final scalar metrics, names from replication.metrics
    curve: list[dict]  # [{"step": s, "val_accuracy": ..., ...}] every eval_every steps
    extras: dict  # non-scalar diagnostics (e.g. mean routing weights)
    config: dict  # the resolved job config
    config_hash: str
    overrides: list[str]  # the Hydra overrides that produced the config
    accounting: dict  # params, FLOPs per example, steps, examples seen
    timing: dict  # wall and process CPU seconds of the training loop
    energy: dict  # joules, method, and whether it was measured or estimated
    environment: dict  # device, threads, determinism, git SHA, package versions, host
    launch: dict = field(default_factory=dict)  # launch position and order rule (timings)
    diverged_at: int | None = None  # the step whose loss was not finite
    error: str | None = None  # a failed run's exception, last lines of the traceback
    schema: int = SCHEMA_VERSION
    created: str = ""
    checksum: str = field(default="", compare=False)


def run_id(protocol: str, arm: str, seed: int, trial: str | None = None) -> str:
    """The record's folder below runs/<claim>/; also its identity inside a claim."""
    middle = f"{arm}/tune/{trial}" if trial else arm
    return f"{protocol}/{middle}/seed={seed}"


def _canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def config_hash(config: dict) -> str:
    """sha256 of the canonical config without HASH_EXCLUDE keys and NEUTRAL knobs at their
    neutral value, plus COMPUTE_VERSION."""
    kept = {k: v for k, v in config.items() if k not in HASH_EXCLUDE}
    if isinstance(kept.get("budget"), dict):  # the profile's name and which protocols it
        # runs (long) are labels; its caps count
        kept["budget"] = {k: v for k, v in kept["budget"].items() if k not in ("name", "long")}
    for (section, key), neutral in NEUTRAL.items():
        node = kept.get(section)
        if isinstance(node, dict) and key in node and _same(node[key], neutral):
            kept[section] = {k: v for k, v in node.items() if k != key}
    for section in {s for s, _ in NEUTRAL}:  # a section left empty by neutral knobs goes too
        if kept.get(section) == {}:
            del kept[section]
    kept["__compute_version__"] = COMPUTE_VERSION
    return hashlib.sha256(_canonical(kept)).hexdigest()[:16]


def _same(value: object, neutral: object) -> bool:
    """Equal and of the same type (False is not the neutral 0)."""
    return type(value) is type(neutral) and value == neutral


def _checksum(data: dict) -> str:
    return hashlib.sha256(
        _canonical({k: v for k, v in data.items() if k != "checksum"})
    ).hexdigest()


def write(record: RunRecord, path: Path, root: Path) -> None:
    """Atomic and confined: a temporary file of this writer, fsynced and renamed over the
    target, which must lie under `root` (the runs root; replication/workspace.py)."""
    data = dataclasses.asdict(record)
    data["checksum"] = _checksum(data)
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    workspace.write_atomic(path, text, root)


def read(path: Path) -> RunRecord:
    """A verified record, or RecordError naming the path and what is wrong."""
    if Path(path).is_symlink():
        raise RecordError(f"{path}: a link, not a record (records are never read through links)")
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: unreadable record ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
        raise RecordError(f"{path}: not a schema-{SCHEMA_VERSION} run record")
    if data.get("checksum") != _checksum(data):
        raise RecordError(f"{path}: checksum mismatch (torn or edited record)")
    if data.get("status") not in STATUSES:
        raise RecordError(f"{path}: unknown status {data.get('status')!r}")
    try:
        return RunRecord(**data)
    except TypeError as err:
        raise RecordError(f"{path}: malformed record ({err})") from None


def read_if_current(path: Path, expected_hash: str) -> RunRecord | None:
    """The record at path if it is intact, final and made from the same config; else None.

    Failed runs are not final: the next replicate retries them."""
    if not path.is_file():
        return None
    try:
        rec = read(path)
    except RecordError:
        return None
    if rec.config_hash != expected_hash or rec.status == "failed":
        return None
    return rec


def find(runs_dir: Path | str, claim_id: str) -> list[Path]:
    return sorted((Path(runs_dir) / claim_id).rglob(RECORD_NAME))


def load(runs_dir: Path | str, claim_id: str) -> tuple[list[RunRecord], list[str]]:
    """Every intact record of a claim, and one message per record that failed its checks
    (those are left out of every result and are run again by the next replicate)."""
    good, bad = [], []
    for p in find(runs_dir, claim_id):
        try:
            good.append(read(p))
        except RecordError as err:
            bad.append(str(err))
    return good, bad


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
    acct = r.accounting
    row["params"] = acct.get("params_total")
    row["ffn_params"] = acct.get("params_ffn")
    row["attention_params"] = acct.get("params_attention")
    row["active_ffn_params"] = acct.get("params_active_ffn")
    row["attention_flops"] = acct.get("flops_attention_per_example")
    row["flops_per_example"] = acct.get("flops_per_example_forward")
    if "act_ops_per_example" in acct:  # elementwise activation work, by the authors' count
        row["act_ops_per_example"] = acct["act_ops_per_example"]
        row["flops_with_act_per_example"] = (
            acct["flops_per_example_forward"] + acct["act_ops_per_example"]
        )
    row |= {f"acct_{k}": v for k, v in r.accounting.items()}
    row |= {f"time_{k}": v for k, v in r.timing.items()}
    row |= energy_columns(r.energy)
    return row


# metric name -> key of a record's `energy` (replication/energy.py summarize)
ENERGY_KEYS = {
    "energy_j": "joules",
    "energy_net_j": "net_joules",
    "energy_per_step_j": "j_per_step",
    "energy_net_per_step_j": "net_j_per_step",
    "energy_per_example_j": "j_per_example",
}


def energy_columns(e: dict) -> dict:
    """A record's energy as row columns: the metrics (NaN where not measured, with the
    reason in energy_reason) and the method, which decides an energy verdict's margin."""
    out = {m: e.get(k) for m, k in ENERGY_KEYS.items()}
    return out | {"energy_method": e.get("method"), "energy_reason": e.get("reason") or ""}


FRAME_COLUMNS = [
    "protocol",
    "arm",
    "seed",
    "stage",
    "trial",
    "status",
    "config_hash",
    "params",
    "ffn_params",
    "attention_params",
    "active_ffn_params",
    "attention_flops",
    "flops_per_example",
    "acct_params_total",
    "acct_params_trained",
    "acct_flops_per_example_forward",
    "acct_flops_per_example_train",
    "acct_steps",
    "acct_examples_seen",
    "time_wall_s",
    "time_cpu_s",
    *ENERGY_KEYS,
    "energy_method",
    "energy_reason",
]


def to_frame(records: list[RunRecord] | list[dict]) -> pd.DataFrame:
    """One row per run (see frame_row); accepts records or rows already made. The columns of
    FRAME_COLUMNS are always there (NaN where no run recorded them, e.g. failed runs)."""
    rows = [r if isinstance(r, dict) else frame_row(r) for r in records]
    df = pd.DataFrame(rows)
    df = df.reindex(columns=FRAME_COLUMNS + [c for c in df.columns if c not in FRAME_COLUMNS])
    return df.sort_values(["protocol", "stage", "arm", "seed"], kind="stable").reset_index(
        drop=True
    )
