"""The guard: one allow-list for everything a claim file can reach.

A claim file is untrusted input: reviewers run claims written by others. Nothing in one may
make the harness read, write or execute outside the project, so a claim is held to what it
is allowed to say, not checked against a list of known attacks (docs/claims.md, "Rules"):

- the file: at most MAX_BYTES of plain YAML (no anchors, aliases, tags, merge keys or
  repeated keys), nested at most MAX_DEPTH deep, so no alias expansion ("billion laughs")
  can happen while loading;
- names (claim id, protocols, arms, effects, checks) match NAME and read back unchanged
  through Hydra's override parser: they become folder names and override values;
- overrides (at most MAX_OVERRIDE characters) are parsed by Hydra's own parser and may only
  be `key=value` or `+key=value`: no sweeps, deletions, `++` or package (`@`) overrides.
  A group selection (`model=mlp`, `model/router=egyptian`) must name an option file of
  that conf/ group, looked up in the group's listing (never joined into a path); a value
  override sets a dotted key under CLAIM_ROOTS (or one of CLAIM_SETTINGS) whose parts are
  plain identifiers (no `_target_`, `_args_`, ...: nothing starting with `_`) and which
  conf/ does not derive itself; nothing may interpolate, also once Hydra's parser has
  undone its escapes;
- every number is finite, every string printable on one line, and lists, mappings and
  strings are bounded.

Composed configs get a second wall in replication/validate.py (the keys the harness owns
must come out unchanged; only conf/'s own interpolations and `_target_`s, listed by
replication/confscan.py), and every write a third in replication/workspace.py (paths must
resolve under the runs/reports roots).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from enum import Enum
from pathlib import Path

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from replication import one_line
from replication.confscan import CLAIM_ROOTS, conf_groups, derived_keys

MAX_BYTES = 256 * 1024  # the largest claim in the repo is ~12 KiB
MAX_DEPTH = 12  # nesting of YAML mappings and lists
MAX_NODES = 20_000  # YAML nodes in one file
MAX_ITEMS = 64  # entries of any list or mapping in a claim (seed lists: claim_rules)
MAX_TEXT = 20_000  # characters of any string
MAX_OVERRIDE = 1_000  # characters of one override: Hydra's parser is quadratic in length
NAME = re.compile(r"[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*")
NAME_MAX = 64
IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # one part of a config key
CLAIM_SETTINGS = ("threads", "deterministic")  # top-level run settings a claim may set
HARNESS_KEYS = ("hydra", "paths", "sweep", "budget", "device", "launched_by", "claim_id")
HARNESS_KEYS += ("protocol", "arm", "seed", "stage", "trial", "run_id")
NAME_RULE = (
    "lower-case letters, digits and '_', in parts joined by single '-' or '.', starting "
    f"with a letter, at most {NAME_MAX} characters (names become folder names and "
    "Hydra override values)"
)


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


# ------------------------------------------------------------------ the file


def yaml_problem(text: str) -> tuple[str, str] | None:
    """(field, why) if the YAML text is not plain data; scanned as events, before anything
    is built, so an alias bomb never expands."""
    stack: list[list] = []  # [kind, key or index, expecting a key, keys seen]

    def where() -> str:
        out = ""
        for kind, at, _, _ in stack:
            if at is None or at == -1:
                break
            out += f"[{at}]" if kind == "seq" else f".{at}"
        return out.lstrip(".") or "?"

    try:
        for count, ev in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
            if count > MAX_NODES:
                return where(), f"more than {MAX_NODES} YAML nodes"
            if isinstance(ev, yaml.AliasEvent):
                return where(), "YAML aliases (*name) are not allowed: write the value out"
            if getattr(ev, "anchor", None):
                return where(), "YAML anchors (&name) are not allowed: write the value out"
            if getattr(ev, "tag", None) is not None:
                return where(), f"YAML tags ({ev.tag}) are not allowed: a claim is plain data"
            node = isinstance(ev, yaml.NodeEvent)
            if node and stack:  # this node is a key or an item of its parent
                parent = stack[-1]
                if parent[0] == "seq":
                    parent[1] += 1
                elif parent[2]:
                    if not isinstance(ev, yaml.ScalarEvent):
                        return where(), "mapping keys must be plain words"
                    if ev.value == "<<" and ev.style is None:
                        return where(), "YAML merge keys (<<) are not allowed: write the keys out"
                    parent[1], parent[2] = ev.value, False
                    if ev.value in parent[3]:
                        return where(), f"duplicate key '{ev.value}'"
                    parent[3].add(ev.value)
                    continue
                else:
                    parent[2] = True
            if isinstance(ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if len(stack) >= MAX_DEPTH:
                    return where(), f"nested more than {MAX_DEPTH} deep"
                seq = isinstance(ev, yaml.SequenceStartEvent)
                stack.append(["seq", -1, False, set()] if seq else ["map", None, True, set()])
            elif isinstance(ev, yaml.CollectionEndEvent):
                stack.pop()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return where(), f"not valid YAML: {getattr(err, 'problem', None) or err}{at}"
    return None


def read_claim_text(path: Path) -> tuple[str, tuple[str, str] | None]:
    """The file's text, read once, and (field, why) if it cannot be a claim: too large, not
    UTF-8, not plain YAML. What is checked is what gets parsed (no second read)."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        size = path.stat().st_size
        return "", ("?", f"the file is {size:,} bytes; a claim file may have at most {MAX_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "", ("?", "not UTF-8 text")
    return text, yaml_problem(text)


# ------------------------------------------------------------------ names


def name_problem(name: object) -> str | None:
    """Why `name` cannot name a claim, protocol, arm, effect or check (None: it can)."""
    if not isinstance(name, str) or len(name) > NAME_MAX or not NAME.fullmatch(name):
        return f"{one_line(repr(name), 80)} is not a valid name: {NAME_RULE}"
    read = _parser().parse_overrides([f"x={name}"])[0].value()
    if read != name:
        return f"'{name}' reads as {read!r} in a Hydra override; choose another name"
    return None


# ------------------------------------------------------------------ overrides


def _root_problem(root: str) -> str | None:
    if root in CLAIM_ROOTS + CLAIM_SETTINGS:
        return None
    if root in HARNESS_KEYS:
        return f"'{root}' is set by the harness, not by claims"
    allowed = ", ".join(CLAIM_ROOTS + CLAIM_SETTINGS)
    return f"'{root}' is not part of the config a claim may set ({allowed})"


def key_problem(key: str) -> str | None:
    """Why a claim may not set the value key `key` (e.g. optim.lr); None if it may."""
    if len(key) > 200:
        return f"a key of {len(key)} characters"
    parts = key.split(".")
    if any(p.startswith("_") for p in parts):
        return (
            "claims name conf/ options; they may not set keys starting with '_' "
            "(_target_, _args_, _partial_, _recursive_, _convert_)"
        )
    if not all(IDENT.fullmatch(p) for p in parts):
        return f"'{key}' is not a dotted key of plain identifiers"
    group = key.replace(".", "/")
    if "/" in key or group in conf_groups():
        return f"'{key}' is a config group: choose an option with {group}=<option>"
    if key in derived_keys():
        return (
            f"'{key}' is derived by conf/ from {derived_keys()[key]} (the run's seed, the "
            "task's shape): a claim cannot set it"
        )
    return _root_problem(parts[0])


def _value_problem(value: object) -> str | None:
    """Why a parsed override value may not be set: checked after Hydra's parser has undone
    its escapes (`$\\{` reads as `${`), so no escape can smuggle an interpolation."""
    if isinstance(value, str) and "${" in value:
        return "interpolations (${...}) are not allowed, escaped or not: a claim is data"
    if isinstance(value, dict):
        for k, v in value.items():
            if not (isinstance(k, str) and IDENT.fullmatch(k)):  # parsed keys: no `${` either
                return f"mapping key {k!r} is not a plain identifier (no '_target_' and the like)"
            problem = _value_problem(v)
            if problem:
                return problem
    elif isinstance(value, list):
        return next((p for p in map(_value_problem, value) if p), None)
    elif isinstance(value, float) and not math.isfinite(value):
        return f"value {value} is not a finite number"
    return None


def override_problem(text: object) -> str | None:
    """Why a claim may not carry this Hydra override (None: it may)."""
    if not isinstance(text, str):
        return f"an override is a string 'key=value', got {type(text).__name__}"
    if len(text) > MAX_OVERRIDE:
        return f"an override of {len(text):,} characters; at most {MAX_OVERRIDE:,}"
    if "${" in text:
        return "interpolations (${...}) are not allowed: a claim is data, resolved by nothing"
    try:
        parsed = _parser().parse_overrides([text])
    except Exception as err:  # Hydra's lexer and parser raise several types
        return f"not a Hydra override: {one_line(str(err).splitlines()[0], 160)}"
    ov = parsed[0]
    if ov.is_sweep_override():
        return "sweeps are not allowed: arms, seeds and grids come from the claim's own fields"
    if ov.is_delete():
        return "deletions (~key) are not allowed: a claim chooses options and values"
    if ov.is_force_add():
        return "force-adds (++key) are not allowed: use key=value or +key=value"
    if ov.package is not None:
        return "package overrides (@package) are not allowed: options stay where conf/ puts them"
    key = ov.key_or_group
    if "/" in key or key in conf_groups():  # a group selection
        problem = _root_problem(key.split("/")[0]) or _value_problem(ov.value())
        if problem:
            return problem
        options = conf_groups().get(key)
        if options is None:
            return f"'{key}' is not a config group of conf/"
        value = ov.value()
        if not isinstance(value, str) or value not in options:
            return (
                f"{one_line(repr(value), 80)} is not an option of conf/{key}/ "
                f"(options: {', '.join(sorted(options))})"
            )
        return None
    return key_problem(key) or _value_problem(ov.value())


def override_key(text: str) -> str | None:
    """The config key an allowed override sets, dotted (model/router -> model.router)."""
    try:
        return _parser().parse_overrides([text])[0].key_or_group.replace("/", ".")
    except Exception:  # only called on overrides that passed override_problem
        return None


# ------------------------------------------------------------------ values of a typed claim


def first_string(node: object, pred, where: str = "", keys: bool = False) -> tuple | None:
    """(field, text) of the first string in plain data (dicts, lists) for which `pred` holds,
    also among the mapping keys with `keys`; fields read `a.b[0].c`."""
    if isinstance(node, str):
        return (where or "?", node) if pred(node) else None
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        sub = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip(".")
        if keys and isinstance(key, str) and pred(key):
            return sub, key
        found = first_string(child, pred, sub, keys)
        if found:
            return found
    return None


def bounds_problem(obj: object, where: str = "") -> tuple[str, str] | None:
    """(field, why) for the first non-finite number, or over-long list, mapping or string,
    anywhere in a typed claim (dataclasses, lists, dicts)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return where, f"must be a finite number, got {obj}"
    if isinstance(obj, str) and len(obj) > MAX_TEXT:
        return where, f"text of {len(obj):,} characters; at most {MAX_TEXT:,}"
    if isinstance(obj, str) and not obj.isprintable():
        return where, (
            "text must be printable on one line (no newlines, tabs or control characters: "
            "reports and terminals show it); write long text in YAML's folded style (>-)"
        )
    if isinstance(obj, list | dict) and len(obj) > MAX_ITEMS:
        return where, f"{len(obj):,} entries; at most {MAX_ITEMS}"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
        items = [(f"{where}.{k}".lstrip("."), v) for k, v in items]
    elif isinstance(obj, list):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(obj)]
    elif isinstance(obj, dict):
        items = [(f"{where}.{k}", v) for k, v in obj.items()]
    else:
        return None
    for sub, value in items:
        if isinstance(value, Enum):
            continue
        found = bounds_problem(value, sub)
        if found:
            return found
    return None
