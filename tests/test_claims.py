"""Claim files: every real one loads; every malformed one fails naming file and field."""

import pytest
from conftest import CLAIMS

from replication.__main__ import validated
from replication.claimfile import find_claim, load_claim
from replication.claims import ClaimError, Direction, Scale
from replication.confscan import budget_profiles
from replication.profiles import budget


def all_budgets():
    return [budget(name, []) for name in budget_profiles()]


@pytest.mark.parametrize("path", sorted(CLAIMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_claim_loads_and_composes(path):
    claim = load_claim(path)
    assert claim.id == path.stem
    assert {"faithful", "audit"} <= set(claim.protocols)
    assert validated(claim, all_budgets(), []) >= len(claim.protocols)


def test_enums_and_lists_are_typed():
    claim = load_claim(CLAIMS / "h-ee-18.yaml")
    eff = claim.effects[0]
    assert eff.direction is Direction.increase and eff.scale is Scale.relative
    assert all(isinstance(s, int) for s in claim.protocols["audit"].seeds)


def _expect(write_claim, data, field, text):
    path = write_claim(data)
    with pytest.raises(ClaimError) as info:
        load_claim(path)
    err = info.value
    assert err.path == str(path)
    assert err.field == field, str(err)
    assert text in str(err)
    assert str(path) in str(err) and field in str(err)


def test_missing_field(write_claim, claim_dict):
    del claim_dict["source"]["commit"]
    _expect(write_claim, claim_dict, "source.commit", "missing mandatory value")


def test_missing_field_of_a_kind(write_claim, claim_dict):
    del claim_dict["effects"][0]["metric"]
    _expect(write_claim, claim_dict, "effects[0].metric", "a superiority comparison needs metric")


def test_unknown_arm(write_claim, claim_dict):
    claim_dict["effects"][0]["treatment"] = "egyptain"
    _expect(write_claim, claim_dict, "effects[0].treatment", "unknown arm 'egyptain'")


def test_unknown_metric(write_claim, claim_dict):
    claim_dict["effects"][1]["metric"] = "acc"
    _expect(write_claim, claim_dict, "effects[1].metric", "unknown metric 'acc'")


def test_unknown_metric_to_show(write_claim, claim_dict):
    claim_dict["protocols"]["audit"]["show"] = ["bandwidth"]
    _expect(write_claim, claim_dict, "protocols.audit.show[0]", "unknown metric 'bandwidth'")


def test_wrong_type(write_claim, claim_dict):
    claim_dict["effects"][0]["size"] = "big"
    _expect(write_claim, claim_dict, "effects[0].size", "could not be converted to Float")


def test_wrong_enum(write_claim, claim_dict):
    claim_dict["effects"][0]["direction"] = "up"
    _expect(write_claim, claim_dict, "effects[0].direction", "Invalid value 'up'")


def test_misspelled_key(write_claim, claim_dict):
    claim_dict["effects"][0]["margn"] = 0.01
    _expect(write_claim, claim_dict, "effects[0].margn", "not in 'Effect'")


def test_missing_protocol(write_claim, claim_dict):
    del claim_dict["protocols"]["audit"]
    _expect(write_claim, claim_dict, "protocols", "missing protocol(s) ['audit']")


def test_margin_not_below_size(write_claim, claim_dict):
    claim_dict["effects"][1]["margin"] = 0.05
    _expect(write_claim, claim_dict, "effects[1].margin", "need 0 < margin < size")


def test_empty_seeds(write_claim, claim_dict):
    claim_dict["protocols"]["faithful"]["seeds"] = []
    _expect(write_claim, claim_dict, "protocols.faithful.seeds", "empty seed list")


def test_tuning_seeds_overlap(write_claim, claim_dict):
    claim_dict["protocols"]["audit"]["tuning"]["seeds"] = [0, 1000]
    _expect(write_claim, claim_dict, "protocols.audit.tuning.seeds", "must differ")


def test_target_refused(write_claim, claim_dict):
    claim_dict["protocols"]["audit"]["arms"]["egyptian"].append("model._target_=os.system")
    _expect(write_claim, claim_dict, "protocols.audit.arms.egyptian[1]", "_target_")


def test_id_must_match_file(write_claim, claim_dict):
    claim_dict["id"] = "h-ee-99"
    _expect(write_claim, claim_dict, "id", "differs from the file name")


def test_unknown_claim_id(tmp_path):
    with pytest.raises(ClaimError, match=r"unknown claim 'h-ee-99'"):
        find_claim("h-ee-99", CLAIMS)


def test_unknown_group_option_is_refused_by_lookup(write_claim, claim_dict):
    claim_dict["protocols"]["audit"]["arms"]["egyptian"] = ["model/router=egyptain"]
    _expect(write_claim, claim_dict, "protocols.audit.arms.egyptian[0]", "not an option of")


@pytest.mark.parametrize(
    "override, text",
    [
        ("optim.lr=abc", "optim.lr: Value 'abc' of type 'str' could not be converted to Float"),
        ("train.rng=bogus", "Invalid value 'bogus', expected one of [separate, shared]"),
        ("task.splitt=stratified", "Could not override 'task.splitt'"),
        ("task.split=bogus", "task.split must be stratified or class_ordered"),
        ("+model.bogus=1", "Key 'bogus' not in 'MoEClassifier'"),
    ],
)
def test_a_config_that_cannot_run_fails_validation_naming_the_override(
    write_claim, claim_dict, override, text
):
    """Loading cannot know conf/'s keys and types; composing every run config does."""
    claim_dict["protocols"]["faithful"]["arms"]["egyptian"].append(override)
    claim = load_claim(write_claim(claim_dict))
    with pytest.raises(ClaimError) as info:
        validated(claim, [budget("smoke", [])], [])
    assert info.value.field == "protocols.faithful.arms.egyptian[1]", str(info.value)
    assert text in str(info.value)


def test_replicate_unit_must_be_a_run(write_claim, claim_dict):
    claim_dict["replicate"] = "epoch"
    _expect(write_claim, claim_dict, "replicate", "evaluation batches are not independent")


def test_looks_beyond_the_seeds(write_claim, claim_dict):
    claim_dict["protocols"]["audit"]["sequential"]["looks"] = [10, 40]
    _expect(write_claim, claim_dict, "protocols.audit.sequential.looks", "exceeds")


def test_first_look_needs_ten_seeds(write_claim, claim_dict):
    claim_dict["protocols"]["audit"]["sequential"]["looks"] = [5, 10, 20]
    _expect(write_claim, claim_dict, "protocols.audit.sequential.looks", "at least 10 seeds")


def test_looks_must_increase(write_claim, claim_dict):
    claim_dict["protocols"]["audit"]["sequential"]["looks"] = [20, 10]
    _expect(write_claim, claim_dict, "protocols.audit.sequential.looks", "must increase")


def test_compound_needs_two_parts(write_claim, claim_dict):
    claim_dict["effects"][0] = {
        "name": "x",
        "kind": "compound",
        "treatment": "egyptian",
        "baseline": "equal",
        "parts": [{"kind": "superiority"}],
    }
    _expect(write_claim, claim_dict, "effects[0].parts", "at least two parts")


def test_part_fields_are_named_with_their_index(write_claim, claim_dict):
    part = {
        "kind": "superiority",
        "metric": "test_accuracy",
        "direction": "increase",
        "size": 0.02,
        "margin": 0.005,
    }
    claim_dict["effects"][0] = {
        "name": "x",
        "kind": "compound",
        "treatment": "egyptian",
        "baseline": "equal",
        "parts": [part, dict(part, size="big")],
    }
    _expect(write_claim, claim_dict, "effects[0].parts[1].size", "could not be converted")


def test_frontier_candidate_must_be_compared(write_claim, claim_dict):
    claim_dict["effects"].append(
        {
            "name": "f",
            "kind": "frontier",
            "candidate": "nope",
            "objectives": [
                {"metric": "test_loss", "direction": "decrease", "margin": 0.01},
                {"metric": "params", "direction": "decrease", "margin": 0},
            ],
        }
    )
    _expect(write_claim, claim_dict, "effects[5].candidate", "'nope' is not among")


def test_parity_rules(write_claim, claim_dict):
    claim_dict["parity"] = {"params": -0.1}
    _expect(write_claim, claim_dict, "parity.params", "tolerance must be >= 0")
    claim_dict["parity"] = {}
    claim_dict["effects"][0]["parity_exempt"] = ["parameters"]
    _expect(write_claim, claim_dict, "effects[0].parity_exempt", "unknown parity rule")


def test_a_protocol_needs_a_baseline_arm(write_claim, claim_dict):
    claim_dict["protocols"]["faithful"]["arms"] = {"egyptian": ["model/router=egyptian"]}
    _expect(write_claim, claim_dict, "protocols.faithful.arms", "at least two arms")


def test_the_headline_comparison_is_judged_in_the_audit(write_claim, claim_dict):
    claim_dict["effects"][0]["protocol"] = "faithful"
    _expect(write_claim, claim_dict, "effects[0].protocol", "not an audit protocol")


def test_duplicate_claim_ids_are_refused(tmp_path, capsys):
    import shutil

    from replication.__main__ import main

    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        shutil.copy(CLAIMS.parent / "tests" / "specs" / "spec-tiny.yaml", tmp_path / d)
    assert main(["validate", *(str(tmp_path / d / "spec-tiny.yaml") for d in "ab")]) == 2
    out, err = capsys.readouterr()
    assert "duplicate claim id" in err
    assert out.count("ok: ") == 1  # the first is still checked and reported
