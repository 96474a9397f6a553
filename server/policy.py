"""The policy the loop runs (from a calibration artifact, or from settings) and whether the
artifact still describes this server (its fingerprints match) — i.e. whether it is stale."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from calibration.artifact import Artifact, ArtifactError, Fingerprints, fingerprint, read_artifact
from server.config import Settings, UnlearningSettings
from server.protocol import Guarantee
from server.refine import LoopPolicy
from verifiers.forgetset import ForgetSet
from verifiers.suite import SuiteConfig

logger = logging.getLogger("lethe.policy")


class StaleArtifactError(Exception):
    """The artifact was calibrated for a different configuration and stale serving is off."""


@dataclass(frozen=True)
class ActivePolicy:
    loop: LoopPolicy
    guarantee: Guarantee | None
    stale: bool
    stale_fields: tuple[str, ...] = ()


def sampling_fingerprint(settings: Settings) -> str:
    """Sampling settings that change which candidates the loop sees."""
    backend = settings.backend
    payload: dict[str, object] = {
        "temperature": settings.unlearning.temperature,
        "top_p": settings.unlearning.top_p,
        "max_tokens": settings.generation.default_max_tokens,
        "kind": backend.kind,
    }
    if backend.kind == "llamacpp":
        payload.update(top_k=backend.llamacpp.top_k, min_p=backend.llamacpp.min_p)
    return fingerprint(payload)


def current_fingerprints(
    settings: Settings, forget_set: ForgetSet, suite: SuiteConfig, model_id: str
) -> Fingerprints:
    unlearning = settings.unlearning
    return Fingerprints(
        forget_set=forget_set.content_hash,
        verifiers=suite.fingerprint(),
        backend_model=fingerprint({"kind": settings.backend.kind, "model": model_id}),
        sampling=sampling_fingerprint(settings),
        prompts=fingerprint(
            {"refine": unlearning.refine_template, "refusal": unlearning.refusal_text}
        ),
    )


def _settings_policy(unlearning: UnlearningSettings) -> LoopPolicy:
    return LoopPolicy(
        threshold=unlearning.threshold,
        budget=unlearning.budget,
        candidates=unlearning.candidates,
        strategy=unlearning.strategy,
        fallback=unlearning.fallback,
        refusal_text=unlearning.refusal_text,
        refine_template=unlearning.refine_template,
        redact_threshold=unlearning.flag_threshold,
    )


def resolve_policy(settings: Settings, current: Fingerprints) -> ActivePolicy:
    """Read the artifact (if any) and check it against this server's fingerprints."""
    unlearning = settings.unlearning
    base = _settings_policy(unlearning)
    if unlearning.artifact is None:
        return ActivePolicy(base, None, stale=False)
    artifact = read_artifact(unlearning.artifact)
    mismatched = tuple(artifact.fingerprints.mismatches(current))
    if mismatched and not unlearning.allow_stale:
        raise StaleArtifactError(
            f"{unlearning.artifact}: calibrated for a different "
            f"{', '.join(mismatched)}; re-run `lethe calibrate`, or set "
            "unlearning.allow_stale: true to serve without a valid guarantee"
        )
    if mismatched:
        logger.warning("serving with a stale artifact (changed: %s)", ", ".join(mismatched))
    chosen = artifact.policy
    loop = LoopPolicy(
        threshold=chosen.threshold,
        budget=chosen.budget,
        candidates=chosen.candidates,
        strategy=chosen.strategy,
        fallback=base.fallback,
        refusal_text=base.refusal_text,
        refine_template=base.refine_template,
        redact_threshold=base.redact_threshold,
    )
    return ActivePolicy(loop, guarantee(artifact, bool(mismatched)), bool(mismatched), mismatched)


def guarantee(artifact: Artifact, stale: bool) -> Guarantee:
    return Guarantee(
        method=artifact.method,
        certified=artifact.passed,
        epsilon=artifact.epsilon,
        delta=artifact.delta,
        n_calibration=artifact.n,
        artifact=artifact.artifact_id(),
        stale=stale,
        statement=artifact.statement,
    )


__all__ = [
    "ActivePolicy",
    "ArtifactError",
    "StaleArtifactError",
    "current_fingerprints",
    "resolve_policy",
]
