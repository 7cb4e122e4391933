"""`validate` proves what `replicate` will run: every config the sweep can launch is composed
as the sweeper launches it, checked and built before the first run starts.

For each budget profile, each protocol it runs, each arm and each tuning value
(sweep.sample_jobs), the job's overrides (sweep.Job.overrides) are composed by Hydra, and
1. the keys the harness owns (`hydra`, `paths`, `budget`, `sweep`, `device` and the run's
   identity) must come out exactly as the harness alone composes them: whatever a claim
   says, it cannot move them (the second wall behind replication/guard.py);
2. the only interpolations are those conf/ itself writes (a resolver such as oc.create or
   oc.env runs when resolved), and they must resolve;
3. every `_target_`, after resolution, must be a class conf/ names;
4. every value must fit its type (replication/schema.py);
5. the task and the model are built as the run builds them (no data, no training), so
   their own checks run too.
A failure raises ClaimError naming the claim field whose override set the offending key.
Configs that differ only in the budget profile are composed once.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Callable, Sequence

from omegaconf import DictConfig, OmegaConf, open_dict

from replication import UserError, confscan, guard, one_line, schema
from replication.claims import Claim, ClaimError
from replication.sweep import IDENTITY_KEYS, Budget, Job, override_sources, sample_jobs

Compose = Callable[[Budget, list[str]], DictConfig]
OWNED = tuple(k for k in guard.HARNESS_KEYS if k not in IDENTITY_KEYS)
COMMAND_LINE = "ARGS"  # an error caused by the user's own overrides is not the claim's


def check_claim(
    claim: Claim, compose: Compose, budgets: Sequence[Budget], extra: Sequence[str] = ()
) -> int:
    """Compose, check and build every distinct job config of the claim under each budget;
    returns how many configs were checked. Raises ClaimError at the first failure.

    The tuning values of one arm share a composition: each value is set on a copy the way
    Hydra applies a value override (OmegaConf.update), then checked and built."""
    seen: set[tuple[str, ...]] = set()
    for budget in budgets:
        baselines: dict[str, dict] = {}
        trials: dict[tuple[str, str], DictConfig] = {}
        for job in sample_jobs(claim, budget):
            if job.config in seen:
                continue
            seen.add(job.config)
            device = claim.protocols[job.protocol].device
            if device not in baselines:  # the harness's own keys, composed without the claim
                alone = dataclasses.replace(job, config=(f"device={device}",))
                baselines[device] = _owned(_compose(claim, compose, budget, alone, extra, []))
            sources = override_sources(claim, job.protocol, job.arm, budget)
            if job.trial:
                sources.append((f"protocols.{job.protocol}.tuning.param", job.trial))
            sources += [(COMMAND_LINE, o) for o in extra]  # after the claim's, as launched
            sibling = trials.get((job.protocol, job.arm))
            if sibling is None:
                cfg = _compose(claim, compose, budget, job, extra, sources)
                if job.stage == "tune":
                    trials[(job.protocol, job.arm)] = cfg
            else:
                cfg = _with_trial(sibling, job)
            _check_job(claim, job, cfg, sources, baselines[device])
    return len(seen)


def _with_trial(cfg: DictConfig, job: Job) -> DictConfig:
    """A tuning job's config from another value's: its trial and identity set as Hydra does."""
    param, value = job.trial.split("=", 1)
    out = copy.deepcopy(cfg)
    with open_dict(out):
        OmegaConf.update(out, param, float(value), merge=True)
        for key in ("trial", "run_id", "seed"):
            OmegaConf.update(out, key, getattr(job, key), merge=True)
    return out


def _check_job(
    claim: Claim, job: Job, cfg: DictConfig, sources: list[tuple[str, str]], base: dict
) -> None:
    def fail(key: str | None, message: str, under: bool = False) -> None:
        _raise(claim, _field(key, message, sources, job, under), message)

    owned = _owned(cfg)
    for key in (*OWNED, "top"):
        if owned.get(key) != base.get(key):
            fail(None, f"the claim's overrides change '{key}', which the harness owns")
    for key in IDENTITY_KEYS:
        if cfg.get(key) != getattr(job, key, "claim_sweeper"):
            fail(None, f"the claim's overrides change '{key}', which the harness sets")
    plain = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    own = confscan.conf_interpolations()  # whole values such as ${task.vocab_size}
    unresolved = OmegaConf.to_container(plain, resolve=False)
    stray = guard.first_string(unresolved, lambda text: "${" in text and text not in own)
    if stray:  # resolvers run code (oc.create, oc.env): only conf/'s own may be resolved
        fail(stray[0], f"{stray[0]}: the interpolation {stray[1]!r} is not one conf/ writes")
    try:
        resolved = OmegaConf.to_container(plain, resolve=True, throw_on_missing=True)
    except Exception as err:  # OmegaConf's interpolation and missing-value errors
        fail(getattr(err, "full_key", None), one_line(str(err).splitlines()[0], 200))
    for target in confscan.targets(resolved):
        if target not in confscan.allowed_targets():
            fail(None, f"'{target}' is not a class conf/ names")
    found = schema.config_problem(resolved)
    if found:
        fail(found[0], f"{found[0]}: {found[1]}")
    problem = _build(plain)
    if problem:  # blame the last override of the part that failed (task or model)
        fail(problem[0], problem[1], under=True)


def _compose(
    claim: Claim,
    compose: Compose,
    budget: Budget,
    job: Job,
    extra: Sequence[str],
    sources: list[tuple[str, str]],
) -> DictConfig:
    try:
        return compose(budget, job.overrides(extra))
    except Exception as err:  # Hydra raises several types; all mean "cannot compose"
        text = str(err).strip()
        msg = one_line(text.splitlines()[0] if text else type(err).__name__, 240)
        _raise(claim, _field(None, text, sources, job), msg)


def _raise(claim: Claim, where: str, message: str) -> None:
    """ClaimError naming the claim field; UserError naming the overrides if they are the
    user's own (the command line), not the claim's."""
    if where.startswith(COMMAND_LINE + " "):
        raise UserError(f"{where}: {message} (composing {claim.path})")
    raise ClaimError(claim.path, where, message)


def _owned(cfg: DictConfig) -> dict:
    """The harness's keys of a composed config, unresolved (hydra's without the parts that
    record which overrides were given), and the list of top-level keys."""
    top = OmegaConf.to_container(cfg, resolve=False)
    out = {k: top.get(k) for k in OWNED}
    hydra = out.get("hydra")
    if isinstance(hydra, dict):
        job = hydra.get("job") or {}
        job = {k: v for k, v in job.items() if k not in ("override_dirname", "id", "num")}
        out["hydra"] = {k: v for k, v in hydra.items() if k not in ("overrides", "runtime")}
        out["hydra"]["job"] = job
    out["top"] = sorted(k for k in top if k not in guard.CLAIM_ROOTS)
    return out


def _field(
    key: str | None, message: str, sources: list[tuple[str, str]], job: Job, under: bool = False
) -> str:
    """The claim field behind an error: the last override that sets `key` (with `under`, or
    any key below it); without a key, the last one the message quotes; else the arm's field.
    """
    for where, ov in reversed(sources):
        ov_key = guard.override_key(ov)
        if not ov_key or where.endswith(".device"):
            continue
        if key is not None:
            found = key == ov_key or key.startswith(ov_key + ".")
            found = found or (under and ov_key.startswith(key + "."))
        else:
            found = ov in message or f"'{ov_key}'" in message
        if found:
            return f"{where} '{ov}'" if where == COMMAND_LINE else where
    return f"protocols.{job.protocol}.arms.{job.arm}"


def _build(cfg: DictConfig) -> tuple[str, str] | None:
    """Build the task and the model as the run does (their constructors check their own
    arguments), leaving every random number generator as it was: a basic launcher runs the
    jobs in this process. Returns (task | model, why) if one could not be built, else None.
    (The optimizer is type-checked, not built: the first one imports torch's compiler, ~3 s.)
    """
    import numpy as np
    import torch

    from replication.run import build  # torch, the models and tasks: only when building

    py, npy = random.getstate(), np.random.get_state()
    part = "task"
    with torch.random.fork_rng(devices=[]):
        try:
            build(cfg.task)
            part = "model"
            build(cfg.model)
        except Exception as err:  # a constructor's own check: any error means "cannot run"
            cause = err.__cause__ or err  # Hydra wraps the constructor's exception
            why = f"{type(cause).__name__}: {one_line(str(cause), 200)}"
            return part, f"building the {part} failed: {why}"
        finally:
            random.setstate(py)
            np.random.set_state(npy)
    return None
