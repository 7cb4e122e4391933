"""The nightly regression of verdicts: re-run every claim, compare with reports/verdicts.json.

verdicts.json holds, per claim and comparison (audit protocol), the verdict, the CI in the
claim's units, the seeds used and the code SHA of the records. A regression is a verdict that
changed, a CI bound that moved by more than TOLERANCE x the comparison's margin, a change in
the seeds used, or a claim or comparison that appeared or disappeared. The code SHA is shown,
never compared. Comparisons of protocols on a device the nightly machine lacks (a GPU) are
computed from the committed records and marked `carried`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from replication import records, workspace
from replication.analysis import Result, audit_protocols
from replication.claimfile import find_claim
from replication.results import analyse

CARRIED = "not re-run nightly (needs a {device} device): from the committed records"
TOLERANCE = 0.25  # of the margin: how far a CI bound may move before it counts as a change


def _round(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(f"{x:.6g}")


def _entry(r: Result) -> dict:
    e = {"verdict": str(r.decision), "n": r.n}
    if r.ci is not None and not math.isnan(r.ci.low):
        e["ci"] = [_round(r.shown(r.ci.low)), _round(r.shown(r.ci.high))]
        e["tolerance"] = _round(TOLERANCE * r.spec.margin)
    return e


def verdict_table(
    claims_dir: Path,
    runs_dir: Path,
    max_seeds: int | None = None,
    device: str = "cpu",
    committed_runs: Path | None = None,
) -> dict:
    """{claim: {"code_sha", "seeds", "comparisons": {name: {"verdict", "n", "ci", ...}}}}
    over the claim's audit protocols. Those on `device` (the nightly machine's) come from
    runs_dir; those on another device (a GPU) cannot be re-run here, so they come from the
    committed records (committed_runs, at full size) and are marked as carried: each night
    computes them again from the same records, so they pass through unchanged."""
    table = {}
    for path in sorted(Path(claims_dir).glob("*.yaml")):
        claim = find_claim(path.stem, claims_dir)
        sources = {device: (runs_dir, max_seeds)}
        if committed_runs is not None:
            sources |= {
                d: (committed_runs, None)
                for d in {claim.protocols[n].device for n in audit_protocols(claim)}
                if d != device
            }
        comps, seeds, shas = {}, {}, set()
        for dev, (folder, cap) in sorted(sources.items()):
            runs, _ = records.load(folder, claim.id)
            res = analyse(claim, runs, cap)
            for name in audit_protocols(claim):
                if claim.protocols[name].device != dev or name not in res.protocols:
                    continue
                p = res.protocols[name]
                seeds[name] = p.n_used
                carried = {"carried": CARRIED.format(device=dev)} if dev != device else {}
                for eff_name, r in p.results.items():
                    comps[eff_name] = _entry(r) | carried
                    for i, part in enumerate(r.parts):
                        comps[f"{eff_name}[{i}]"] = _entry(part) | carried
                shas |= {r.environment["git_sha"][:12] for r in runs if r.protocol == name}
        table[claim.id] = {
            "code_sha": ",".join(sorted(shas)) or None,
            "seeds": seeds,
            "comparisons": comps,
        }
    return table


def compare(old: dict, new: dict) -> list[str]:
    """Every regression between two verdict tables, as lines of a diff."""
    out = []
    for cid in sorted(set(old) | set(new)):
        if cid not in new:
            out.append(f"- {cid}: claim missing tonight")
            continue
        if cid not in old:
            out.append(f"+ {cid}: new claim (not in the committed verdicts)")
            continue
        o, n = old[cid], new[cid]
        if o["seeds"] != n["seeds"]:
            out.append(f"~ {cid}: seeds used {o['seeds']} -> {n['seeds']}")
        for name in sorted(set(o["comparisons"]) | set(n["comparisons"])):
            a, b = o["comparisons"].get(name), n["comparisons"].get(name)
            where = f"{cid}/{name}"
            if a is None or b is None:
                out.append(
                    f"{'+' if a is None else '-'} {where}: comparison "
                    f"{'added' if a is None else 'removed'}"
                )
                continue
            if a["verdict"] != b["verdict"]:
                out.append(f"! {where}: verdict {a['verdict']} -> {b['verdict']}")
            if "ci" in a and "ci" in b:
                tol = a.get("tolerance") or 0.0
                moved = max(abs(x - y) for x, y in zip(a["ci"], b["ci"], strict=True))
                if moved > tol:
                    out.append(
                        f"~ {where}: CI {a['ci']} -> {b['ci']} (moved {moved:.3g} > "
                        f"tolerance {tol:.3g})"
                    )
            elif ("ci" in a) != ("ci" in b):
                out.append(f"~ {where}: CI {a.get('ci')} -> {b.get('ci')}")
    return out


def load(path: Path) -> dict | None:
    return json.loads(Path(path).read_text()) if Path(path).is_file() else None


def save(table: dict, path: Path) -> None:
    path = Path(path)
    workspace.write_atomic(path, json.dumps(table, indent=1, sort_keys=True) + "\n", path.parent)
