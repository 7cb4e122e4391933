"""Prose rules (docs/claims.md#prose).

1. Nothing the reports are built from may cite the team's private notes: the notes live outside
   this repository (the path starts with `..`), so a reader of a report on GitHub cannot open
   them. Facts a report relies on live in docs/sources/<claim>.md.
2. No hand-written sentence of a claim file states a result figure. A digit in the prose fields
   (descriptions, deviations, reference texts, effects' questions, checks' texts and notes;
   not the quote, which is the authors' own words) must be a name (claim id, arm, file path,
   commit, version, section), a year, one of the constants in CONSTANTS, or a value the
   claim's own structured fields hold (its composed run configs, seeds, tuning grid, looks,
   reference values, the effect's size and margin, and the authors' figures): something the
   harness can check against the config. Measured numbers come from records; the report
   fills them in.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CLAIMS, REPO
from omegaconf import OmegaConf

from replication import CONF_DIR
from replication.claimfile import load_claim
from replication.claims import Claim
from replication.confscan import budget_profiles
from replication.profiles import budget
from replication.sweep import base_overrides

# ------------------------------------------------------------------ 1. no private paths

PRIVATE = ".." + "/shared"  # built so that this file does not contain it
SCANNED = [
    "claims",
    "conf",
    "docs",
    "hydra_plugins",
    "replication",
    "tests",
    "README.md",
    "Makefile",
]
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def private_citations(root: Path) -> list[str]:
    """`file:line` of every mention of the private notes' path under root (a file or a folder)."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    hits = []
    for path in files:
        if SKIP_DIRS & set(path.relative_to(REPO).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # figures and other binaries
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if PRIVATE in line:
                hits.append(f"{path.relative_to(REPO)}:{i}: {line.strip()[:120]}")
    return hits


@pytest.mark.parametrize("name", SCANNED)
def test_no_citation_of_private_notes(name):
    hits = private_citations(REPO / name)
    assert not hits, f"cites the private notes ({PRIVATE}/...); cite docs/sources/:\n" + "\n".join(
        hits
    )


# The private notes' own file names, cited without the path (claims and docs are what reports
# and readers see; code comments are outside this rule).
NOTE_NAMES = ("claims-" + "forensics", "protocol-" + "details", "anchors" + ".md")


@pytest.mark.parametrize("name", ["claims", "docs", "README.md"])
def test_no_citation_of_private_notes_by_name(name):
    root = REPO / name
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    hits = [
        f"{path.relative_to(REPO)}:{i}: {note}"
        for path in files
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for note in NOTE_NAMES
        if note in line
    ]
    assert not hits, "cites the private notes; cite docs/sources/:\n" + "\n".join(hits)


def test_no_citation_of_private_notes_in_reports():
    """reports/ is rendered from claims/: it is clean once the reports are regenerated."""
    hits = private_citations(REPO / "reports")
    assert not hits, f"cites the private notes ({PRIVATE}/...); re-render:\n" + "\n".join(hits)


def test_private_notes_check_sees_a_citation(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    (tmp_path / "a.md").write_text(f"see ({PRIVATE}/research/x.md §4)\n")
    assert private_citations(tmp_path / "a.md") == [f"a.md:1: see ({PRIVATE}/research/x.md §4)"]


# ------------------------------------------------------------------ 2. sources documents


@pytest.mark.parametrize("path", sorted(CLAIMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_claim_has_its_sources_document(path):
    """A claim of published code (its source names an author's commit) has docs/sources/<id>.md,
    and a reference run's numbers are the ones it records: each arm's value of
    `reference.values` stands in a table row of the document naming that arm. Every
    docs/sources/ file a claim file names exists."""
    text = path.read_text()
    for cited in re.findall(r"docs/sources/[\w.\-]+\.md", text):
        assert (REPO / cited).is_file(), f"{path.relative_to(REPO)} cites {cited}, which is missing"
    claim = load_claim(path)
    doc = REPO / "docs" / "sources" / f"{claim.id}.md"
    if not re.fullmatch(r"[0-9a-f]{7,40}", claim.source.commit.strip()):
        return  # no author's code (the A/A calibration claims)
    assert doc.is_file(), f"{doc.relative_to(REPO)} is missing"
    rows = [line for line in doc.read_text().splitlines() if line.startswith("|")]
    for name, proto in claim.protocols.items():
        if proto.reference is None:
            continue
        where = f"{path.relative_to(REPO)}: protocols.{name}.reference"
        assert f"docs/sources/{claim.id}.md" in proto.reference.text, f"{where}.text: cite {doc}"
        for arm, value in proto.reference.values.items():
            ok = [
                r
                for r in rows
                if f"`{arm}`" in r
                and any(math.isclose(float(x), value, abs_tol=1e-12) for x in NUMBER.findall(r))
            ]
            assert ok, f"{where}.values.{arm}: {value} is in no table row of {doc.name} for `{arm}`"


RUN_KEYS = ("task", "model", "optim", "train", "threads")  # the run's settings in a config
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")

# ------------------------------------------------------------------ 3. no figures in prose

# Constants a sentence may write without the config holding them: the techniques' defining
# constants and the symbols of formulas. Each is a regular expression over the normalised text.
CONSTANTS = {
    r"(?:zeta|ζ)\s*\(\s*3\s*\)\s*[·*]?\s*ln\s*2": "ZetaLn2 is named after zeta(3)·ln 2 (about 5/6)",
    r"\b5/6\b": "ZetaLn2's coefficient, x^2 - (5/6)x + 25/144",
    r"\b25/144\b": "ZetaLn2's constant term, (5/6)^2 / 4",
    r"\b5/12\b": "ZetaLn2's vertex: x^2 - (5/6)x + 25/144 = (x - 5/12)^2",
    r"\b1/2\b": "an Egyptian fraction (1/2 + 1/3 + 1/6 = 1) and Phi6Centered's vertex",
    r"\b1/3\b": "an Egyptian fraction; equal routing over three experts",
    r"\b1/6\b": "an Egyptian fraction",
    r"\b1/e\b": "the Boltzmann gate's kept fraction (so 1 - 1/e is zeroed by construction)",
    r"\b4/3\b": "the n = 6 ratio: Mertens' p = ln(4/3), FFN width 4/3 x d_model",
    r"\bn\s*=\s*6\b": "the perfect number the techniques are named after",
    r"(?:\^|\*\*)\s*\d+": "an exponent in a formula (x^2, x**3)",
    r"\b2\s*/\s*fan_in\b": "He initialisation's scale, sqrt(2/fan_in)",
    r"(?<![\w.,])[01](?![\w.%/]|,\d{3}|\s*(?:%|x\b|points\b))": "0 and 1 in formulas: N(0, 1)",
}
# Names: spans with digits that are not quantities.
NAMES = [
    r"[\w.\-]*[A-Za-z_][\w.\-]*(?:/[\w.\-]*[A-Za-z_][\w.\-]*)+",  # paths: docs/sources/x.md
    r"§\s*\d+[\w]*(?:\s*[-–,]\s*\d+[\w]*)*",  # sections: §4, §1-2, §10b
    r"(?i)\b(?:pytorch|torch|numpy|python|cuda|hydra|omegaconf|scipy|statsmodels)\s+\d+(?:\.\d+)*(?:\.x)?\b",
    r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b",  # commits
    r"\b(?:199\d|20[0-3]\d)\b(?![.,]\d)",  # years
    r"\b\d+-core\b",  # hardware: a 2-core CPU
]
# An identifier with a digit (H-EE-18, phi6_keep_0.25, float32, x86) is a name; a lower-case
# word joined to a number by a hyphen (depth-2, top-2) is a word and a figure.
IDENT = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:[.\-]\w+)*")
HYPHENED = re.compile(r"^([a-z_]+)-(\d+(?:\.\d+)?)$")
FIGURE = re.compile(
    r"(?<![\w.])(?P<fig>"
    r"\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?){2,}"  # a split in percent: 90/5/5
    r"|ln\s*\(\s*\d+\s*/\s*\d+\s*\)"  # ln(4/3)
    r"|ln\s+\d+(?:\.\d+)?"  # ln 2
    r"|\d+\s*/\s*(?:\d+|e\b)"  # 1/2, 1/e
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 1,000,000
    r"|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"  # 0.01, 3e-3
    r")(?P<unit>\s*%|\s+(?:accuracy\s+)?points\b)?(?:x\b)?"
)


@dataclass(frozen=True)
class Figure:
    text: str
    value: float
    decimals: int | None  # digits after the point as written (on the fraction scale); None: exact
    split: tuple[float, ...] = ()  # 90/5/5: the parts, as fractions


def normalised(text: str) -> str:
    return text.replace("−", "-").replace("–", "-").replace("×", "x").replace("\u00a0", " ")


def _blank(text: str, pattern: str | re.Pattern) -> str:
    return re.sub(pattern, lambda m: " " * len(m.group(0)), text)


def _value(fig: str) -> tuple[float, int | None]:
    fig = re.sub(r"\s+", "", fig)
    if fig.startswith("ln("):
        a, b = fig[3:-1].split("/")
        return math.log(int(a) / int(b)), None
    if fig.startswith("ln"):
        return math.log(float(fig[2:])), None
    if "/" in fig:
        a, b = fig.split("/")
        return int(a) / (math.e if b == "e" else int(b)), None
    plain = fig.replace(",", "")
    if "e" in plain.lower():
        return float(plain), None
    return float(plain), len(plain.split(".")[1]) if "." in plain else 0


def figures(text: str) -> list[Figure]:
    """The figures of a sentence: what is left of its digits once names and constants are out."""
    text = normalised(text)
    for pattern in [*NAMES, *CONSTANTS]:  # names first: the 1 of §1-2 is not a constant
        text = _blank(text, pattern)

    def name_or_word(m: re.Match) -> str:
        word = m.group(0)
        hyphened = HYPHENED.match(word)
        if hyphened:  # depth-2: the word goes, the number stays
            return " " * (len(hyphened.group(1)) + 1) + hyphened.group(2)
        return " " * len(word) if any(c.isdigit() for c in word) else word

    text = IDENT.sub(name_or_word, text)
    out = []
    for m in FIGURE.finditer(text):
        fig, unit = m.group("fig"), m.group("unit")
        if fig.count("/") >= 2:
            parts = tuple(float(x) / 100 for x in fig.split("/"))
            out.append(Figure(m.group(0).strip(), math.nan, None, parts))
            continue
        value, decimals = _value(fig)
        if unit:  # 8.8% and 0.5 points are fractions: 0.088 and 0.005
            value /= 100
            decimals = None if decimals is None else decimals + 2
        elif decimals == 0:  # a count is exact
            decimals = None
        out.append(Figure(m.group(0).strip(), value, decimals))
    return out


def _numbers(obj) -> set[float]:
    """Every number in a (nested) config value; bools are not numbers."""
    if isinstance(obj, bool) or obj is None:
        return set()
    if isinstance(obj, int | float):
        return {float(obj)}
    if isinstance(obj, dict):
        return set().union(*map(_numbers, obj.values())) if obj else set()
    if isinstance(obj, list | tuple):
        return set().union(*map(_numbers, obj)) if obj else set()
    return set()


@functools.cache
def _profiles() -> dict[str, str]:
    """device -> the budget profile that runs it (default for the CPU)."""
    out: dict[str, str] = {}
    for name in sorted(budget_profiles(), key=lambda n: n != "default"):
        out.setdefault(budget(name, []).device, name)
    return out


def protocol_values(claim: Claim, protocol: str) -> set[float]:
    """The numbers a protocol's structured fields hold: every composed run config of its arms
    (task, model, optim, train, threads), its seeds, tuning grid, looks and reference values,
    and the sizes of those lists."""
    from hydra import compose, initialize_config_dir

    proto = claim.protocols[protocol]
    b = budget(_profiles()[proto.device], [])
    values: set[float] = set()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for arm in proto.arms:
            identity = [f"claim_id={claim.id}", f"protocol={protocol}", f"arm={arm}"]
            identity += ["seed=0", "run_id=prose", f"budget={b.name}"]
            cfg = compose("config", overrides=[*base_overrides(claim, protocol, arm, b), *identity])
            resolved = OmegaConf.to_container(cfg, resolve=True)
            values |= _numbers([resolved[k] for k in RUN_KEYS])
    lists = [proto.seeds, list(proto.arms)]
    if proto.tuning:
        lists += [proto.tuning.values, proto.tuning.seeds]
    if proto.sequential:
        lists.append(proto.sequential.looks)
        values |= {proto.sequential.alpha, proto.sequential.power}
    values |= _numbers(lists) | {float(len(x)) for x in lists}
    if proto.reference:
        values |= _numbers(proto.reference.values)
    return values


def claimed_values(claim: Claim) -> set[float]:
    """The authors' figures: the quote's, the effects' `authors` fields, checks' authors_value."""
    texts = [claim.quote] + [e.authors.text for e in claim.effects if e.authors]
    values = {f.value for t in texts for f in figures(t)}
    for e in claim.effects:
        if e.authors:
            values |= _numbers([e.authors.treatment, e.authors.baseline])
    return values | _numbers([c.authors_value for c in claim.checks])


def effect_values(effect) -> set[float]:
    comparisons = [effect, *effect.parts]
    found = _numbers([[c.size, c.cost, c.margin] for c in comparisons])
    return found | _numbers([o.margin for o in effect.objectives])


def prose(claim: Claim):
    """(field, text, the numbers it may use) for every hand-written sentence of a claim."""
    claimed = claimed_values(claim)
    per_protocol = {name: protocol_values(claim, name) | claimed for name in claim.protocols}
    for name, proto in claim.protocols.items():
        where = f"protocols.{name}"
        yield f"{where}.description", proto.description, per_protocol[name]
        for i, text in enumerate(proto.deviations):
            yield f"{where}.deviations[{i}]", text, per_protocol[name]
        if proto.reference:
            yield f"{where}.reference.text", proto.reference.text, per_protocol[name]
    for i, eff in enumerate(claim.effects):
        yield (
            f"effects[{i}].question",
            eff.question,
            per_protocol[eff.protocol] | effect_values(eff),
        )
    every = set().union(*per_protocol.values())
    for i, check in enumerate(claim.checks):
        yield f"checks[{i}].text", check.text, every
        yield f"checks[{i}].note", check.note, every


def allowed(fig: Figure, values: set[float]) -> bool:
    """The figure is one of the values, as written: exactly, or rounded to the digits shown
    when it shows at least two significant ones (0.0042 for 0.0041610396)."""
    if fig.split:  # a split: parts that sum to 100%, all but one of them in the config
        known = [p for p in fig.split if allowed(Figure("", p, None), values)]
        return math.isclose(sum(fig.split), 1) and len(known) >= len(fig.split) - 1
    v = abs(fig.value)
    for c in map(abs, values):
        if math.isclose(c, v, rel_tol=1e-9, abs_tol=1e-12):
            return True
        shown = fig.decimals is not None and v >= 10 ** (1 - fig.decimals)
        if shown and math.isclose(round(c, fig.decimals), v, abs_tol=10 ** -(fig.decimals + 3)):
            return True
    return False


def stray_figures(path: Path) -> list[str]:
    claim = load_claim(path)
    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    return [
        f"{rel}: field '{field}': figure '{fig.text}' is not a name, a year, an allowed constant "
        f"or a value of the claim's config (docs/claims.md#prose)"
        for field, text, values in prose(claim)
        for fig in figures(text)
        if not allowed(fig, values)
    ]


@pytest.mark.parametrize("path", sorted(CLAIMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_prose_states_no_result_figures(path):
    found = stray_figures(path)
    assert not found, "\n".join(found)


def test_a_hand_written_result_is_caught(write_claim):
    """h-ee-17's faithful deviation once said GELU and ReLU "have barely moved from ln 2",
    while the table beside it showed both near half of that."""
    import yaml

    data = yaml.safe_load((CLAIMS / "h-ee-17.yaml").read_text())
    old = (
        "x1·x2 is exactly a quadratic feature, so any squared unit fits sign-XOR; GELU and ReLU"
        " have barely moved from ln 2 at lr 0.01 after 500 full-batch steps."
    )
    data["protocols"]["faithful"]["deviations"][1] = old
    path = write_claim(data, "h-ee-17")
    found = stray_figures(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}: field 'protocols.faithful.deviations[1]': figure 'ln 2'")
    assert stray_figures(CLAIMS / "h-ee-17.yaml") == []  # the text that replaced it


@pytest.mark.parametrize(
    ("text", "stray"),
    [
        ("H-EE-18's arm phi6_keep_0.25 in docs/sources/h-ee-18.md §4 at 27cfbc56", []),
        ("re-run with PyTorch 2.13 and numpy 2 in 2026", []),
        ("keep the top 1/e; ZetaLn2 is (x - 5/12)^2, after zeta(3)·ln 2; N(0, 1)", []),
        ("lr 0.01 for 500 steps, 8.8% claimed, margin 2%, the 0.0042 vertex", []),
        ("the losses agree to 1e-4", ["1e-4"]),
        ("GELU stays near ln 2 while Phi6 reaches 0.138", ["ln 2"]),
        ("gradients 4.5x larger", ["4.5x"]),
        ("a depth-3 model with 403,870 parameters", ["3", "403,870"]),
        ("accuracy 25.6% (0.4 points better)", ["25.6%", "0.4 points"]),
    ],
)
def test_figures_in_a_sentence(text, stray):
    values = {0.01, 500.0, 0.088, 0.02, 0.0041610396, 0.138}
    assert [f.text for f in figures(text) if not allowed(f, values)] == stray
