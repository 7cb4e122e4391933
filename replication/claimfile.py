"""Reading a claim file: guard -> typed schema -> cross-field rules, each error on one line.

The order matters: the guard (replication/guard.py) looks at the raw text before anything
is built from it, so a hostile file is refused before YAML aliases expand or a value is
resolved; the schema (replication/claims.py) types every field; the rules
(replication/claim_rules.py) check what types cannot. Composing the runs' configs is a
later step (replication/validate.py), because it needs Hydra.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import types
import typing
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from replication import claim_rules, guard, one_line
from replication.claims import Claim, ClaimError


def load_claim(path: Path | str) -> Claim:
    """Read and validate one claim file; raises ClaimError naming the file and field."""
    path = Path(path)
    if path.is_symlink():
        raise ClaimError(path, "?", "a claim file must be a regular file, not a link")
    if not path.is_file():
        raise ClaimError(path, "id", "no such claim file")
    text, problem = guard.read_claim_text(path)
    if problem:
        raise ClaimError(path, *problem)
    try:
        raw = OmegaConf.to_container(OmegaConf.load(io.StringIO(text)))
    except Exception as err:  # duplicate keys and the like
        raise ClaimError(path, "?", _yaml_problem(err)) from None
    if not isinstance(raw, dict):
        raise ClaimError(path, "?", "a claim file must be a mapping")
    found = guard.first_string(raw, lambda text: "${" in text, keys=True)
    if found is not None:
        raise ClaimError(
            path,
            found[0],
            "interpolations (${...}) are not allowed in claim files: "
            "a claim is data, resolved by nothing",
        )
    _shape(Claim, raw, "", path)
    claim = _typed(Claim, raw, "", path)
    claim.path = str(path)
    for eff in claim.effects:  # parts compare the effect's arms unless they name their own
        for part in eff.parts:
            part.treatment = part.treatment or eff.treatment
            part.baseline = part.baseline or eff.baseline
            part.direction = part.direction or eff.direction
    claim_rules.check(claim, path)
    return claim


def find_claim(claim_id: str, claims_dir: Path | str) -> Claim:
    """The claim `claim_id` of claims_dir; an id that is not a name is never a path."""
    claims_dir = Path(claims_dir)
    if guard.name_problem(claim_id):
        raise ClaimError(
            claims_dir, "id", f"{guard.name_problem(claim_id)}; claim ids are file names in it"
        )
    path = claims_dir / f"{claim_id}.yaml"
    if not path.is_file() and not path.is_symlink():
        known = ", ".join(sorted(p.stem for p in claims_dir.glob("*.yaml"))) or "none"
        raise ClaimError(
            path, "id", f"unknown claim '{claim_id}' (claims in {claims_dir}: {known})"
        )
    claim = load_claim(path)
    if claim.id != claim_id:
        raise ClaimError(path, "id", f"file is named {claim_id}.yaml but its id is '{claim.id}'")
    return claim


def _shape(schema: type, raw: object, prefix: str, path: Path) -> None:
    """Containers where the schema wants them (a mapping of protocols, a list of effects),
    checked before typing so that the error names the field (OmegaConf's would not)."""
    if not isinstance(raw, dict):
        return
    hints = _hints(schema)
    for name, value in raw.items():
        tp = hints.get(name)
        if tp is None or value is None:
            continue  # unknown keys and nulls: the typed merge names them
        want, elem = _container(tp)
        where = f"{prefix}{name}"
        if want is dict and not isinstance(value, dict):
            raise ClaimError(path, where, f"expected a mapping, got {_kind(value)}")
        if want is list and not isinstance(value, list):
            raise ClaimError(path, where, f"expected a list, got {_kind(value)}")
        if dataclasses.is_dataclass(tp) and not isinstance(value, dict):
            raise ClaimError(path, where, f"expected a mapping of {tp.__name__} fields")
        if dataclasses.is_dataclass(tp):
            _shape(tp, value, where + ".", path)
        elif elem is not None:
            items = enumerate(value) if want is list else value.items()
            for key, item in items:
                sub = f"{where}[{key}]" if want is list else f"{where}.{key}"
                if not isinstance(item, dict):
                    raise ClaimError(path, sub, f"expected a mapping of {elem.__name__} fields")
                _shape(elem, item, sub + ".", path)


@functools.cache
def _hints(schema: type) -> dict[str, object]:
    hints = typing.get_type_hints(schema)
    return {f.name: _strip_optional(hints[f.name]) for f in dataclasses.fields(schema)}


def _strip_optional(tp: object) -> object:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    return args[0] if union and len(args) == 1 else tp


def _container(tp: object) -> tuple[type | None, type | None]:
    """(list | dict | None, the dataclass of its items if any)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin not in (list, dict):
        return None, None
    item = args[-1] if args else None
    return origin, item if dataclasses.is_dataclass(item) else None


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list"}.get(type(value), f"{type(value).__name__}")


def _typed(schema: type, raw: object, prefix: str, path: Path):
    """Merge raw data into the dataclass schema. Lists of dataclasses are typed one item at a
    time: OmegaConf drops the list index from errors raised while merging a whole list."""
    nested = {}
    if isinstance(raw, dict):
        raw = dict(raw)
        for name, elem in _dataclass_lists(schema).items():
            if isinstance(raw.get(name), list):
                nested[name] = (elem, raw.pop(name))
    try:
        obj = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        hint = ""
        if key == "replicate":
            hint = " (the replicate is one full training run; epochs and evaluation batches "
            hint += "are not independent replicates)"
        raise ClaimError(path, prefix + key, _first_line(err) + hint) from None
    for name, (elem, items) in nested.items():
        typed = [_typed(elem, it, f"{prefix}{name}[{i}].", path) for i, it in enumerate(items)]
        setattr(obj, name, typed)
    return obj


@functools.cache
def _dataclass_lists(schema: type) -> dict[str, type]:
    out = {}
    for name, tp in _hints(schema).items():
        want, elem = _container(tp)
        if want is list and elem is not None:
            out[name] = elem
    return out


def _yaml_problem(err: Exception) -> str:
    """The useful lines of a YAML error: what was found, and where."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    found = [ln for ln in lines if ln.startswith(("found", "expected", "mapping values"))]
    at = [ln for ln in lines if ln.startswith("in ")]
    return "; ".join(found[:1] + at[-1:]) or _first_line(err)


def _first_line(err: Exception) -> str:
    """OmegaConf's message without the value dump and context lines it appends."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    return one_line(first.split(". value: ")[0], 200)
