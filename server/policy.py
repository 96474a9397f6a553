"""The policy the loop runs (from a calibration artifact, or from settings) and whether the
artifact still describes this server (its fingerprints match) — i.e. whether it is stale."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from calibration.artifact import Artifact, ArtifactError, Fingerprints, fingerprint, read_artifact
from server.config import ConfigError, Settings, UnlearningSettings
from server.loop import LoopPolicy
from server.protocol import Guarantee
from verifiers.forgetset import ForgetSet
from verifiers.suite import SuiteConfig

logger = logging.getLogger("lethe.policy")


class GuardStartError(ConfigError):
    """The guard cannot start: the forget set, a verifier's configuration or the artifact is
    unusable, or the artifact is stale and stale serving is off. The message says which and
    where (file, line, field), never forget-set content. ``lethe`` prints it and exits 2."""


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
    artifact = read_configured_artifact(settings.unlearning)
    return policy_for(settings.unlearning, artifact, current)


def read_configured_artifact(unlearning: UnlearningSettings) -> Artifact | None:
    if unlearning.artifact is None:
        return None
    try:
        return read_artifact(unlearning.artifact)
    except ArtifactError as exc:
        raise GuardStartError(str(exc)) from exc


def policy_for(
    unlearning: UnlearningSettings,
    artifact: Artifact | None,
    current: Fingerprints,
    *,
    running: bool = False,
) -> ActivePolicy:
    """The loop policy ``artifact`` gives this configuration.

    A stale artifact stops start-up unless ``allow_stale``; once ``running`` (a hot reload
    changed the forget set or artifact) the server keeps serving, marked stale, because
    refusing to start is no longer an option and the new forget set must apply at once.
    """
    base = _settings_policy(unlearning)
    if artifact is None:
        return ActivePolicy(base, None, stale=False)
    mismatched = tuple(artifact.fingerprints.mismatches(current))
    if mismatched and not (unlearning.allow_stale or running):
        raise GuardStartError(
            f"{unlearning.artifact}: calibrated for a different "
            f"{', '.join(mismatched)}; re-run `lethe calibrate`, or set "
            "unlearning.allow_stale: true to serve without a valid guarantee"
        )
    if mismatched:
        logger.warning("serving with a stale artifact (changed: %s)", ", ".join(mismatched))
    chosen = artifact.policy
    loop = replace(
        base,
        threshold=chosen.threshold,
        budget=chosen.budget,
        candidates=chosen.candidates,
        strategy=chosen.strategy,
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
    "GuardStartError",
    "current_fingerprints",
    "policy_for",
    "read_configured_artifact",
    "resolve_policy",
]
