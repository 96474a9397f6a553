"""The calibration artifact: the chosen policy, its guarantee, and what it is valid for.

The fingerprints pin everything the guarantee depends on: verifier configuration and code,
judge code, loop code (which also decides how client ``stop``, penalties and ``max_tokens``
are treated), model weights, sampling and prompts. A server whose fingerprints differ is
*stale*: the statement no longer applies to it.

Format 2 certifies over forget targets (``unit: "target"``): it covers a target drawn like
the calibration targets, so the exact forget set is no longer a staleness condition; instead
the artifact records what it was calibrated on (``n_targets``, ``target_kinds``,
``max_forget_set_size``, ``calibration_set``) and :func:`coverage` says whether a forget set
is covered. Format 1 (per-query, binomial) artifacts are still read, as what they are: a
per-query certificate for the one forget set they hash, with no coverage of new targets.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calibration.atomic import write_atomically

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
METHOD = "ltt-hb-targets"
LEGACY_METHOD = "ltt-binomial"

Strategy = Literal["reprompt", "redact", "resample", "scrub", "ban"]
"""How the loop refines a leaking answer (the server's loop implements each)."""
Unit = Literal["target", "query"]
Coverage = Literal["certified", "interim"]


class ArtifactError(Exception):
    """The artifact file is missing or invalid."""


class Fingerprints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    forget_set: str  # compared only for per-query (format 1) artifacts; information otherwise
    verifiers: str
    backend_model: str
    sampling: str
    prompts: str
    # Added in format 2; None in older artifacts, which are then not compared on them.
    model_weights: str | None = None
    verifier_code: str | None = None
    judge_code: str | None = None
    loop_code: str | None = None

    def mismatches(self, current: Fingerprints, *, pin_forget_set: bool = True) -> list[str]:
        """The fields this (recorded) fingerprint set has that differ in ``current``."""
        mine, theirs = self.model_dump(), current.model_dump()
        skip = set() if pin_forget_set else {"forget_set"}
        return [
            name
            for name, value in mine.items()
            if name not in skip and value is not None and value != theirs[name]
        ]


class PolicyChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(..., ge=0.0, le=1.0)
    budget: int = Field(..., ge=0)
    candidates: int = Field(..., ge=1)
    strategy: Strategy


class Artifact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = FORMAT_VERSION
    method: str = METHOD
    created: str
    passed: bool  # False: no configuration was certified; the policy refuses when flagged
    policy: PolicyChoice
    epsilon: float  # marginal risk level
    delta: float
    n: int  # calibration queries
    n_forget: int  # forget-related queries (forget and mixed)
    n_unrelated: int
    failures: int  # returned answers of the chosen policy that leak, over all queries
    p_value: float  # the chosen policy's p-value: the larger of the two when both are tested
    refusal_rate_unrelated: float
    mean_rounds: float  # = generator calls per query
    statement: str
    fingerprints: Fingerprints
    grid: list[dict[str, Any]] = Field(default_factory=list)
    # Format 2: the certificate over targets.
    unit: Unit = "query"
    forget_epsilon: float | None = None  # forget-side risk level ε_f
    n_targets: int = 0  # forget targets calibrated over (0: per-query certificate)
    target_kinds: list[str] = Field(default_factory=list)
    max_forget_set_size: int = 0
    risk: float | None = None  # chosen policy: mean over targets of the per-target leak rate
    forget_risk: float | None = None  # ... among forget-related queries
    forget_p_value: float | None = None
    utility: float | None = None  # share of unrelated and mixed queries answered right
    max_tokens: int | None = None  # guarded max_tokens calibrated; served requests are clamped
    calibration_set: str | None = None  # hash of the queries and forget sets calibrated on
    forget_sets: list[str] = Field(default_factory=list)  # content hashes of those forget sets

    def artifact_id(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()

    @property
    def over_targets(self) -> bool:
        return self.unit == "target"


def coverage(artifact: Artifact, target_kind: str, forget_set_size: int) -> Coverage:
    """Does the certificate vouch for a forget set of ``forget_set_size`` targets of
    ``target_kind``? Only a passed certificate over targets covers anything, and only targets
    of a calibrated kind in forget sets no larger than the largest one calibrated. Staleness
    (fingerprints) is the server's check and comes on top: a stale artifact vouches for none.
    """
    if not (artifact.passed and artifact.over_targets):
        return "interim"
    if target_kind not in artifact.target_kinds:
        return "interim"
    if forget_set_size > artifact.max_forget_set_size:
        return "interim"
    return "certified"


def statement(artifact: Artifact) -> str:
    """What the artifact's certificate says, in words (the ``guarantee.statement`` of answers)."""
    if not artifact.over_targets:
        return _legacy_statement(artifact)
    levels = f"epsilon = {artifact.epsilon}, forget_epsilon = {artifact.forget_epsilon}"
    if not artifact.passed:
        return (
            f"No configuration could be certified at {levels} with confidence "
            f"{1 - artifact.delta:.2f} from {artifact.n_targets} calibration targets; this "
            "policy refuses every answer the verifiers flag at all."
        )
    kinds = ", ".join(artifact.target_kinds) or "unknown"
    forget_side = (
        f"at most {artifact.forget_epsilon} for forget-related queries and "
        if artifact.forget_epsilon is not None
        else ""
    )
    return (
        f"For a forget target drawn like the {artifact.n_targets} calibration targets (kind "
        f"{kinds}; forget sets of up to {artifact.max_forget_set_size} targets) and a query "
        "drawn like its calibration queries, the probability that a returned choice reveals a "
        "fact of that target - the reference judge finding at least half of one fact's "
        f"distinctive words in it - is {forget_side}at most {artifact.epsilon} over all "
        f"calibration traffic, with probability >= {1 - artifact.delta:.2f} over the draw of "
        "the calibration targets. Per returned choice, averaged over targets and queries: not "
        "a promise about any single request. It does not hold under distribution shift or "
        "adaptive attacks, nor for another verifier configuration or code, model weights, "
        f"sampling, max_tokens above {artifact.max_tokens}, loop or prompts than the ones "
        "hashed here."
    )


def _legacy_statement(artifact: Artifact) -> str:
    if not artifact.passed:
        return (
            f"Per-query calibration (artifact format {artifact.format}) certified nothing at "
            f"epsilon = {artifact.epsilon} from {artifact.n} queries; this policy refuses every "
            "answer the verifiers flag at all."
        )
    return (
        f"Per-query certificate (artifact format {artifact.format}): for queries drawn like "
        f"the {artifact.n} calibration queries, the probability that a returned choice holds "
        "at least half of the asked question's gold answer (the reference judge) is at most "
        f"{artifact.epsilon}, with probability >= {1 - artifact.delta:.2f}, computed as if the "
        "queries were independent; queries about one target are not, so the bound is "
        "optimistic. It covers only the forget set hashed here and no new target; re-run "
        "`lethe calibrate` for a certificate over targets."
    )


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def fingerprint(payload: object) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def write_artifact(artifact: Artifact, path: Path) -> None:
    """Write atomically (a temporary file in the same directory, then ``os.replace``): a server
    polling the file never reads half an artifact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, artifact.model_dump_json(indent=2) + "\n")


def read_artifact(path: Path) -> Artifact:
    """An artifact of any readable format; a format-1 one says it is a per-query certificate."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: cannot read calibration artifact") from exc
    return parse_artifact(text, str(path))


def parse_artifact(text: str, where: str) -> Artifact:
    """An artifact from its JSON text; ``where`` (a file, a store) names it in errors."""
    try:
        artifact = Artifact.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ArtifactError(f"{where}: invalid artifact ({field}: {first['msg']})") from exc
    if artifact.format not in READABLE_FORMATS:
        raise ArtifactError(f"{where}: artifact format {artifact.format} is not supported")
    if artifact.format == 1:
        return artifact.model_copy(
            update={"unit": "query", "statement": _legacy_statement(artifact)}
        )
    return artifact
