"""Command line: python -m replication {replicate,report,validate,list,calibrate,merge,nightly}.

`replicate` runs the claim's Hydra multirun (a subprocess, so the exact command is printed and
can be re-run by hand) and then renders the report from the records it left.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from replication import CONF_DIR
from replication.claims import ClaimError, find_claim, load_claim
from replication.report import write_report
from replication.sweep import check_composes


def composed(overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def _settings(budget: str, overrides: list[str]) -> DictConfig:
    """The composed paths and budget a command works with (budget profile + overrides)."""
    return composed(
        [f"budget={budget}", *[o for o in overrides if o.startswith(("paths.", "budget."))]]
    )


def sweep(claim: str, budget: str, launcher: str, overrides: list[str]) -> int:
    """The claim's Hydra multirun, in a subprocess; returns its exit code."""
    extra = list(overrides)
    if launcher == "subprocess" and not any(o.startswith("sweep.max_batch=") for o in extra):
        extra.append(f"sweep.max_batch={os.cpu_count() or 1}")  # it starts a batch at once
    cmd = [
        sys.executable,
        "-m",
        "replication.run",
        "-m",
        f"claim_id={claim}",
        f"budget={budget}",
        f"hydra/launcher={launcher}",
        *extra,
    ]
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, env=os.environ | {"OMP_NUM_THREADS": "1"})


def cmd_replicate(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    rc = sweep(args.claim, args.budget, args.launcher, args.overrides)
    if rc != 0:
        return rc
    print(f"sweep finished in {time.perf_counter() - t0:.1f} s", flush=True)
    return cmd_report(args)


def cmd_report(args: argparse.Namespace) -> int:
    cfg = _settings(args.budget, args.overrides)
    p = cfg.paths
    path = write_report(
        args.claim, Path(p.claims), Path(p.runs), Path(p.reports), cfg.budget.max_seeds
    )
    print(f"report: {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    claims_dir = Path(_settings("default", []).paths.claims)
    paths = [Path(c) if c.endswith(".yaml") else claims_dir / f"{c}.yaml" for c in args.claims]
    paths = paths or sorted(claims_dir.glob("*.yaml"))
    seen: dict[str, Path] = {}
    for path in paths:
        claim = load_claim(path)
        if claim.id.lower() in seen:
            raise ClaimError(path, "id", f"duplicate claim id: also {seen[claim.id.lower()]}")
        seen[claim.id.lower()] = path
        check_composes(claim, composed, ["budget=default"])
        print(f"ok: {path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    claims_dir = Path(_settings("default", []).paths.claims)
    for path in sorted(claims_dir.glob("*.yaml")):
        claim = find_claim(path.stem, claims_dir)
        print(f"{claim.id:12s} {claim.title}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from replication import calibration

    t0 = time.perf_counter()
    rates = calibration.run(args.sims, args.resamples, n_jobs=args.jobs)
    seconds = time.perf_counter() - t0
    calibration.write_report(rates, Path(args.out), args.resamples, seconds)
    for r in rates:
        ok = "ok " if calibration.within(r) else "OUT"
        print(f"{ok} {r.name:28s} {r.dist:7s} {r.setting:26s} {r.rate:.3f} ({r.bound})")
    print(f"wrote {Path(args.out) / 'calibration.md'} in {seconds:.0f} s")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from replication.merge import merge

    dest = Path(args.into or _settings("default", []).paths.runs)
    res = merge([Path(s) for s in args.sources], dest)
    for line in res.conflicts + res.invalid:
        print(f"conflict: {line}" if line in res.conflicts else f"invalid: {line}")
    print(
        f"merged into {dest}: {len(res.copied)} copied, {len(res.same)} already there, "
        f"{len(res.conflicts)} conflicts, {len(res.invalid)} invalid"
    )
    return 1 if res.conflicts or res.invalid else 0


def cmd_nightly(args: argparse.Namespace) -> int:
    from replication import nightly

    cfg = _settings("nightly", args.overrides)
    claims_dir, runs_dir = Path(cfg.paths.claims), Path(cfg.paths.runs)
    if args.fresh and runs_dir.exists():
        shutil.rmtree(runs_dir)
    t0 = time.perf_counter()
    for path in sorted(claims_dir.glob("*.yaml")):
        rc = sweep(path.stem, "nightly", args.launcher, args.overrides)
        if rc != 0:
            print(f"nightly: {path.stem} failed (exit {rc})", file=sys.stderr)
            return rc
        write_report(path.stem, claims_dir, runs_dir, Path(cfg.paths.reports), cfg.budget.max_seeds)
    elapsed = time.perf_counter() - t0
    table = nightly.verdict_table(claims_dir, runs_dir, cfg.budget.max_seeds)
    committed = Path(args.verdicts)
    diff = nightly.compare(nightly.load(committed) or {}, table)
    print(f"nightly: {len(table)} claim(s) in {elapsed:.0f} s")
    for line in diff:
        print(line)
    if args.accept:
        nightly.save(table, committed)
        print(f"wrote {committed}")
        return 0
    if not committed.is_file():
        print(f"no {committed} yet: run `make nightly ACCEPT=1` to record the verdicts")
        return 1
    print(
        "no verdict changed"
        if not diff
        else f"{len(diff)} change(s); `make nightly ACCEPT=1` accepts them"
    )
    return 1 if diff else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m replication", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in [
        ("replicate", "run a claim's sweep, then write its report"),
        ("report", "re-render a claim's report from existing records"),
    ]:
        p = sub.add_parser(name, help=helptext)
        p.add_argument("claim")
        p.add_argument("--budget", default="default", help="conf/budget profile")
        if name == "replicate":
            p.add_argument("--launcher", default="parallel", help="conf/hydra/launcher preset")
        p.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. paths.runs=/tmp")
    p = sub.add_parser("validate", help="check claim files (schema and composable arms)")
    p.add_argument("claims", nargs="*")
    sub.add_parser("list", help="list claims")
    p = sub.add_parser("calibrate", help="simulate the verdict engine's error rates")
    p.add_argument("--sims", type=int, default=2000, help="simulations per row")
    p.add_argument("--resamples", type=int, default=9999, help="bootstrap resamples per CI")
    p.add_argument("--jobs", type=int, default=-1, help="processes (joblib; -1 = all cores)")
    p.add_argument("--out", default="reports", help="folder for calibration.md and .png")
    p = sub.add_parser("merge", help="merge runs folders from other machines by record identity")
    p.add_argument("sources", nargs="+", help="runs folders to merge from")
    p.add_argument("--into", help="destination runs folder (default: paths.runs)")
    p = sub.add_parser("nightly", help="re-run every claim; compare with reports/verdicts.json")
    p.add_argument("--accept", action="store_true", help="write tonight's verdicts as the new ones")
    p.add_argument("--fresh", action="store_true", help="delete earlier nightly runs first")
    p.add_argument("--launcher", default="parallel")
    p.add_argument("--verdicts", default="reports/verdicts.json")
    p.add_argument("overrides", nargs="*")
    return parser


HANDLERS = {
    "replicate": cmd_replicate,
    "report": cmd_report,
    "validate": cmd_validate,
    "list": cmd_list,
    "calibrate": cmd_calibrate,
    "merge": cmd_merge,
    "nightly": cmd_nightly,
}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    # argparse cannot take positional overrides after options; accept them anywhere
    stray = [u for u in unknown if u.startswith("-") or "=" not in u]
    if stray or (unknown and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(stray or unknown)}")
    if unknown:
        args.overrides += unknown
    try:
        return HANDLERS[args.command](args)
    except ClaimError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
