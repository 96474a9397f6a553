"""Coverage: which targets the certificate vouches for (calibrated on them, or a certificate
over targets that covers new ones like them), and the interim rule for the others."""

from __future__ import annotations

from typing import Any

from calibration.artifact import Artifact, Fingerprints, PolicyChoice
from server.coverage import (
    CoverageRule,
    InterimTargets,
    InterimView,
    artifact_vouches,
    calibrated_targets,
    strict,
    touched,
)
from server.store import StoredTarget, target_hash
from verifiers.forgetset import Target, build_forget_set
from verifiers.types import LeakageReport, Verdict

ALICE = Target(id="a", name="Alice Quornby", facts=("Alice Quornby keeps bees.",))
BOB = Target(id="b", name="Bob Trevellian", facts=("Bob Trevellian sails.",))
CALIBRATED = build_forget_set([ALICE])


def artifact(**fields: Any) -> Artifact:
    made = Artifact(
        created="2026-12-01T00:00:00+00:00",
        passed=True,
        policy=PolicyChoice(threshold=0.6, budget=1, candidates=2, strategy="reprompt"),
        epsilon=0.05,
        delta=0.05,
        n=400,
        n_forget=160,
        n_unrelated=240,
        failures=3,
        p_value=0.001,
        refusal_rate_unrelated=0.01,
        mean_rounds=1.2,
        statement="",
        fingerprints=Fingerprints(
            forget_set=CALIBRATED.content_hash,
            verifiers="v",
            backend_model="m",
            sampling="s",
            prompts="p",
        ),
    )
    return made.model_copy(update=fields)


def row(target: Target, at: float = 100.0) -> StoredTarget:
    return StoredTarget("", target, target_hash(target), "api", at, at)


def test_targets_the_artifact_was_calibrated_on_are_certified() -> None:
    made = artifact()
    calibrated = calibrated_targets(made, CALIBRATED)
    assert calibrated == {"a": target_hash(ALICE)}
    assert calibrated_targets(made, build_forget_set([ALICE, BOB])) == {}  # another set
    rule = CoverageRule(made, calibrated)
    interim = InterimTargets()
    rows = {"a": row(ALICE), "b": row(BOB, at=50.0)}
    interim.update(rule, rows, rows.keys())
    assert ("a" in interim, "b" in interim) == (False, True)
    assert interim.oldest() == 50.0
    edited = ALICE.model_copy(update={"facts": ("Alice Quornby sails.",)})
    rows["a"] = row(edited)
    interim.update(rule, rows, ["a"])
    assert "a" in interim  # new content is not what was calibrated


def test_a_certificate_over_targets_vouches_for_new_ones_within_its_reach() -> None:
    over = artifact(unit="target", target_kinds=["person"], max_forget_set_size=2, n_targets=120)
    assert artifact_vouches(over, "person", 2)
    assert not artifact_vouches(over, "person", 3)  # the forget set outgrew calibration
    assert not artifact_vouches(over, "organisation", 1)
    assert not artifact_vouches(over.model_copy(update={"passed": False}), "person", 1)
    assert not artifact_vouches(artifact(), "person", 1)  # a per-query artifact: no new ones
    rule = CoverageRule(over, {})
    interim = InterimTargets()
    rows = {"a": row(ALICE), "b": row(BOB)}
    interim.update(rule, rows, rows.keys())
    assert len(interim) == 0
    rows["c"] = row(Target(id="c", name="Cleo Marchbank"))
    interim.update(rule, rows, ["c"])  # three targets: more than calibrated, all interim
    assert len(interim) == 3


def test_a_stale_artifact_vouches_for_none_and_no_artifact_means_no_rule() -> None:
    rows = {"a": row(ALICE)}
    stale, none = InterimTargets(), InterimTargets()
    stale.update(
        CoverageRule(artifact(), calibrated_targets(artifact(), CALIBRATED), True), rows, ["a"]
    )
    none.update(CoverageRule(), rows, ["a"])
    assert ("a" in stale, "a" in none) == (True, False)


def test_the_interim_rule_turns_any_flag_into_a_certain_leak() -> None:
    flagged = LeakageReport(0.55, (Verdict("fact", 0.55, targets=("b",)),), True, ("b",))
    view = InterimView([_interim({"b"})])
    ruled = strict(flagged, view)
    assert (ruled.score, ruled.flagged) == (1.0, True)
    assert ruled.verdicts[-1].name == "interim"
    assert "Bob" not in " ".join(ruled.verdicts[-1].feedback)  # kinds, never content
    certified = LeakageReport(0.55, (Verdict("fact", 0.55, targets=("a",)),), True, ("a",))
    assert strict(certified, view) is certified
    low = LeakageReport(0.2, (Verdict("fact", 0.2, targets=("b",)),), False, ())
    assert strict(low, view) is low  # not flagged: nothing for the rule to act on
    assert touched([low], view)  # but the answer touched an interim target
    assert not touched([certified], view)


def _interim(ids: set[str]) -> InterimTargets:
    made = InterimTargets()
    made.since = dict.fromkeys(ids, 0.0)
    return made
