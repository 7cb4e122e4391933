"""Merge run records made on several machines, by record identity.

A record's identity is its place (runs/<claim>/<run_id>/record.json) and its config hash.
Records are copied into the destination when it lacks them, or has only a failed run there.
A record that exists in both with the same config hash and the same results is the same run;
the same config with different results (non-determinism) or a different config is a conflict:
the destination keeps its own and the conflict is listed. Nothing is overwritten silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from replication import records, workspace


@dataclass
class MergeResult:
    copied: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def _copy(src: Path, dst: Path, root: Path) -> None:
    workspace.write_atomic(dst, src.read_bytes(), root)


def _same_result(a: records.RunRecord, b: records.RunRecord) -> bool:
    return (a.status, a.metrics, a.curve, a.accounting.get("steps")) == (
        b.status,
        b.metrics,
        b.curve,
        b.accounting.get("steps"),
    )


def merge(sources: list[Path], dest: Path) -> MergeResult:
    """Copy every intact record of `sources` (runs folders) into `dest` by identity."""
    out = MergeResult()
    for src in sources:
        for path in sorted(Path(src).rglob(records.RECORD_NAME)):
            rel = path.relative_to(src).as_posix()
            try:
                rec = records.read(path)
            except records.RecordError as err:
                out.invalid.append(str(err))
                continue
            target = Path(dest) / rel
            try:
                have = records.read(target) if target.exists() else None
            except records.RecordError:
                have = None  # a corrupt destination record is replaced
            if have is None or (have.status == "failed" and rec.status != "failed"):
                _copy(path, target, Path(dest))
                out.copied.append(rel)
            elif have.config_hash != rec.config_hash:
                out.conflicts.append(
                    f"{rel}: different config ({have.config_hash} here, "
                    f"{rec.config_hash} in {src}); kept this one"
                )
            elif _same_result(have, rec):
                out.same.append(rel)
            else:
                out.conflicts.append(
                    f"{rel}: same config, different results (not "
                    f"deterministic across machines?); kept this one"
                )
    return out
