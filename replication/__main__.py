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

from replication import UserError, one_line, profiles
from replication.claimfile import find_claim, load_claim
from replication.claims import Claim, ClaimError
from replication.confscan import budget_profiles
from replication.report import write_report
from replication.sweep import Budget
from replication.validate import check_claim


def validated(claim: Claim, budgets: list[Budget], overrides: list[str]) -> int:
    """Compose, check and build every run config of the claim under these budgets."""
    extra = [o for o in overrides if not o.startswith("budget=")]
    return check_claim(
        claim,
        lambda b, ovs: profiles.composed([f"budget={b.name}", *ovs], hydra=True),
        budgets,
        extra,
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
    """The claim file, budget and launcher are checked here; the sweeper then composes and
    checks every run config (replication/validate.py) before the first run starts. Either
    refuses a bad input with one line and exit status 2."""
    t0 = time.perf_counter()
    cfg = profiles.settings(args.budget, args.overrides)
    find_claim(args.claim, Path(cfg.paths.claims))
    rc = sweep(args.claim, args.budget, profiles.launcher(args.launcher), args.overrides)
    if rc != 0:
        return rc
    print(f"sweep finished in {time.perf_counter() - t0:.1f} s", flush=True)
    return cmd_report(args)


def cmd_report(args: argparse.Namespace) -> int:
    cfg = profiles.settings(args.budget, args.overrides)
    p = cfg.paths
    path, skipped = write_report(
        args.claim, Path(p.claims), Path(p.runs), Path(p.reports), cfg.budget.max_seeds
    )
    for line in skipped:
        print(f"warning: left out of {Path(p.reports) / 'README.md'}: {line}", file=sys.stderr)
    print(f"report: {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Every claim named (default: all), under every budget profile; one line per claim."""
    claims_dir = Path(profiles.settings("default", args.overrides).paths.claims)
    paths = [Path(c) if c.endswith(".yaml") else claims_dir / f"{c}.yaml" for c in args.claims]
    budgets = [profiles.budget(name, args.overrides) for name in budget_profiles()]
    failed = 0
    for path, problem in _check_all(paths or sorted(claims_dir.glob("*.yaml")), budgets, args):
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            failed += 1
        else:
            print(f"ok: {path}")
    return 2 if failed else 0


def _check_all(paths: list[Path], budgets: list[Budget], args: argparse.Namespace):
    """(path, None) for each valid claim, (path, ClaimError) for each invalid one."""
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            claim = load_claim(path)
            if claim.id.lower() in seen:
                raise ClaimError(path, "id", f"duplicate claim id: also {seen[claim.id.lower()]}")
            seen[claim.id.lower()] = path
            validated(claim, budgets, args.overrides)
        except ClaimError as err:
            yield path, err
            continue
        yield path, None


def cmd_list(args: argparse.Namespace) -> int:
    claims_dir = Path(profiles.settings("default", args.overrides).paths.claims)
    failed = 0
    for path in sorted(claims_dir.glob("*.yaml")):
        try:
            claim = find_claim(path.stem, claims_dir)
        except ClaimError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        print(f"{claim.id:12s} {one_line(claim.title)}")
    return 2 if failed else 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from replication import calibration

    t0 = time.perf_counter()
    rates = calibration.run(args.sims, n_jobs=args.jobs)
    seconds = time.perf_counter() - t0
    calibration.write_report(rates, Path(args.out), seconds)
    for r in rates:
        ok = "ok " if calibration.within(r) else "OUT"
        print(f"{ok} {r.name:28s} {r.dist:7s} {r.setting:26s} {r.rate:.3f} ({r.bound})")
    print(f"wrote {Path(args.out) / 'calibration.md'} in {seconds:.0f} s")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from replication.merge import merge

    dest = Path(args.into or profiles.settings("default", []).paths.runs)
    for src in args.sources:
        if not Path(src).is_dir():
            raise UserError(f"FROM: {src} is not a folder of run records")
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

    cfg = profiles.settings("nightly", args.overrides)
    claims_dir, runs_dir = Path(cfg.paths.claims), Path(cfg.paths.runs)
    profiles.launcher(args.launcher)
    paths = sorted(claims_dir.glob("*.yaml"))
    bad = [
        err
        for _, err in _check_all(paths, [profiles.budget("nightly", args.overrides)], args)
        if err
    ]
    for err in bad:  # a nightly with an invalid claim is red before anything runs
        print(f"error: {err}", file=sys.stderr)
    if bad:
        return 2
    if args.fresh and runs_dir.exists():
        shutil.rmtree(runs_dir)
    t0 = time.perf_counter()
    for path in paths:
        rc = sweep(path.stem, "nightly", args.launcher, args.overrides)
        if rc != 0:
            print(f"nightly: {path.stem} failed (exit {rc})", file=sys.stderr)
            return rc
        write_report(path.stem, claims_dir, runs_dir, Path(cfg.paths.reports), cfg.budget.max_seeds)
    elapsed = time.perf_counter() - t0
    committed_runs = Path(profiles.settings("default", []).paths.runs)  # GPU records: carried
    table = nightly.verdict_table(
        claims_dir, runs_dir, cfg.budget.max_seeds, cfg.budget.device, committed_runs
    )
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
    p = sub.add_parser("validate", help="check claim files: schema, guard, every run config")
    p.add_argument("claims", nargs="*", help="claim ids or files (default: every claim)")
    p = sub.add_parser("list", help="list claims")
    p.add_argument("overrides", nargs="*", help="e.g. paths.claims=<folder>")
    p = sub.add_parser("calibrate", help="simulate the verdict engine's error rates")
    p.add_argument("--sims", type=int, default=2000, help="simulations per row")
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
    if args.command == "validate":  # overrides and claims are both positional there
        args.overrides = [c for c in args.claims if "=" in c]
        args.claims = [c for c in args.claims if "=" not in c]
    # argparse cannot take positional overrides after options; accept them anywhere
    stray = [u for u in unknown if u.startswith("-") or "=" not in u]
    if stray or (unknown and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(stray or unknown)}")
    if unknown:
        args.overrides += unknown
    try:
        return HANDLERS[args.command](args)
    except UserError as err:  # a claim, an option or a folder the user gave: one line
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
