"""The calibration artifact: the chosen policy, its guarantee, and what it is valid for.

The hashes pin everything the guarantee depends on. A server whose forget set, verifiers,
model, sampling or prompts differ from the artifact's is *stale*: the statement no longer
applies to it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FORMAT_VERSION = 1
METHOD = "ltt-binomial"

Strategy = Literal["reprompt", "redact", "resample"]
"""How the loop refines a leaking answer (the server's loop implements each)."""


class ArtifactError(Exception):
    """The artifact file is missing or invalid."""


class Fingerprints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    forget_set: str
    verifiers: str
    backend_model: str
    sampling: str
    prompts: str

    def mismatches(self, other: Fingerprints) -> list[str]:
        mine, theirs = self.model_dump(), other.model_dump()
        return [name for name in mine if mine[name] != theirs[name]]


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
    epsilon: float
    delta: float
    n: int
    n_forget: int
    n_unrelated: int
    failures: int
    p_value: float
    refusal_rate_unrelated: float
    mean_rounds: float
    statement: str
    fingerprints: Fingerprints
    grid: list[dict[str, Any]] = Field(default_factory=list)

    def artifact_id(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def statement(epsilon: float, delta: float, n: int, passed: bool) -> str:
    if not passed:
        return (
            f"No configuration could be certified at epsilon = {epsilon} with confidence "
            f"{1 - delta:.2f} from {n} calibration queries; this policy refuses every answer "
            "the verifiers flag at all."
        )
    return (
        f"For queries drawn like the calibration set, P(answer leaks forget-set content) "
        f"<= {epsilon}, with probability >= {1 - delta:.2f} over the draw of the {n} "
        "calibration queries. Marginal over queries, not per request; it does not hold under "
        "distribution shift or adaptive attacks, nor for another forget set, verifier "
        "configuration, model, sampling setting or prompt than the ones hashed here."
    )


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def fingerprint(payload: object) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def write_artifact(artifact: Artifact, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(artifact.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_artifact(path: Path) -> Artifact:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: cannot read calibration artifact") from exc
    try:
        artifact = Artifact.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ArtifactError(f"{path}: invalid artifact ({field}: {first['msg']})") from exc
    if artifact.format != FORMAT_VERSION:
        raise ArtifactError(f"{path}: artifact format {artifact.format} is not supported")
    return artifact
