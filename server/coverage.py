"""Which forget targets the active certificate vouches for, and which run under the interim
rule until a recalibration covers them.

A target is *certified* when the artifact was calibrated on it (it is in the forget set the
artifact hashes, e.g. the seed file it was made with) or when the artifact's certificate over
targets covers new targets like it (``calibration.artifact.coverage``: a calibrated kind, a
forget set no larger than calibrated). Any other target is *interim*: a candidate that any
verifier flags for it at all (a verdict naming it at or above the flag threshold) counts as a
certain leak, whatever τ says. A stale artifact vouches for nothing; without an artifact there
is no certificate and no interim rule (answers carry no guarantee at all).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from calibration import artifact as artifact_module
from calibration.artifact import Artifact
from server.store import StoredTarget, target_hash
from verifiers.forgetset import ForgetSet
from verifiers.types import LeakageReport, Verdict

Coverage = Literal["certified", "interim"]

DEFAULT_TARGET_KIND = "person"
"""Forget-set targets do not say what they are; the calibration builder's targets (TOFU
authors) are people, which is what a target is taken to be when matching certificate kinds."""

INTERIM_FEEDBACK = (
    "Leave out everything about the forget targets this answer mentions: who they are, "
    "their background, work, family, places, dates and awards."
)


def calibrated_targets(artifact: Artifact | None, seed: ForgetSet | None) -> dict[str, str]:
    """Target id -> content hash of the targets ``artifact`` was calibrated on, known when the
    seed file is (one of) the forget set(s) the artifact hashes; else none."""
    if artifact is None or seed is None:
        return {}
    hashes = {artifact.fingerprints.forget_set, *getattr(artifact, "forget_sets", ())}
    if seed.content_hash not in hashes:
        return {}
    return {target.id: target_hash(target) for target in seed.targets}


def artifact_vouches(artifact: Artifact, target_kind: str, forget_set_size: int) -> bool:
    """Whether the certificate covers a new target of ``target_kind`` in a forget set of this
    size: the calibration library's rule when it has one, else the artifact's own fields
    (missing: it covers no target it was not calibrated on)."""
    rule = getattr(artifact_module, "coverage", None)
    if rule is not None:
        return bool(rule(artifact, target_kind, forget_set_size) == "certified")
    kinds = getattr(artifact, "target_kinds", None)
    largest = getattr(artifact, "max_forget_set_size", None)
    if not artifact.passed or not kinds or largest is None:
        return False
    return target_kind in kinds and forget_set_size <= largest


@dataclass(frozen=True)
class CoverageRule:
    """The certificate one scope's targets are judged by."""

    artifact: Artifact | None = None
    calibrated: Mapping[str, str] = field(default_factory=dict)
    stale: bool = False

    @property
    def applies(self) -> bool:
        """Without an artifact there is nothing to be covered by, and no interim rule."""
        return self.artifact is not None

    def vouches_for_new(self, forget_set_size: int) -> bool:
        if self.artifact is None or self.stale:
            return False
        return artifact_vouches(self.artifact, DEFAULT_TARGET_KIND, forget_set_size)

    def interim(self, row: StoredTarget, vouched: bool) -> bool:
        if not self.applies:
            return False
        if self.stale:
            return True
        return not (vouched or self.calibrated.get(row.target.id) == row.content_hash)


class InterimTargets:
    """One scope's targets under the interim rule (id -> since when), kept up to date as
    targets change: only the changed ids are re-judged unless the rule or its verdict on new
    targets changed (then every target is)."""

    def __init__(self) -> None:
        self.since: dict[str, float] = {}
        self._rule: CoverageRule | None = None
        self._vouched: bool | None = None

    def update(
        self, rule: CoverageRule, rows: Mapping[str, StoredTarget], changed: Iterable[str]
    ) -> None:
        vouched = rule.vouches_for_new(len(rows))
        if rule is not self._rule or vouched != self._vouched:
            self._rule, self._vouched = rule, vouched
            changed = rows.keys()
            self.since.clear()
        for target_id in list(changed):
            row = rows.get(target_id)
            if row is not None and rule.interim(row, vouched):
                self.since[target_id] = row.updated_at
            else:
                self.since.pop(target_id, None)

    def __contains__(self, target_id: object) -> bool:
        return target_id in self.since

    def __len__(self) -> int:
        return len(self.since)

    def oldest(self) -> float | None:
        return min(self.since.values(), default=None)


def strict(report: LeakageReport, interim: Container[str]) -> LeakageReport:
    """The interim rule: a report that flags an interim target is a certain leak."""
    named = [target for target in report.targets if target in interim]
    if not named:
        return report
    verdict = Verdict("interim", 1.0, feedback=(INTERIM_FEEDBACK,), targets=tuple(named))
    return LeakageReport(1.0, (*report.verdicts, verdict), True, report.targets)


def touched(reports: Iterable[LeakageReport], interim: Container[str]) -> bool:
    """Whether any verdict of these reports named (with any score) an interim target."""
    return any(
        target in interim
        for report in reports
        for verdict in report.verdicts
        for target in verdict.targets
    )


class InterimView:
    """The interim targets of the scopes one guard checks (a tenant: its own and the global
    ones). Ids are not qualified by scope: an id interim in any of them counts (stricter)."""

    def __init__(self, scopes: Sequence[InterimTargets] = ()) -> None:
        self._scopes = tuple(scopes)

    def __contains__(self, target_id: object) -> bool:
        return any(target_id in scope for scope in self._scopes)
