"""The policy the loop runs (from a calibration artifact, or from settings) and whether the
artifact still describes this server (its fingerprints match) — i.e. whether it is stale.

The fingerprints hash what changes the distribution of answers: the verifier configuration
and code, the reference judge's code, the loop's code (refinement strategies and the building
of guarded requests, which decides how a client's ``stop``, penalties and ``max_tokens`` are
treated), the model's weights (the GGUF file's sha256; for an upstream, its model id and the
configured revision), sampling settings and prompts.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import calibration.reference_judge
import server.guarded
import server.loop
import server.refinement
import verifiers
import verifiers.refusal
import verifiers.text
from calibration.artifact import Artifact, ArtifactError, Fingerprints, fingerprint, read_artifact
from calibration.code_version import code_version
from server.backends.llamacpp import embedded_model_path
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


READ_CHUNK = 1 << 20


@lru_cache(maxsize=8)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    """sha256 of a file, once per (path, mtime, size): a GGUF of 100 MB takes ~0.3 s."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    stat = os.stat(path)
    return _file_sha256(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def weights_fingerprint(settings: Settings, model_id: str) -> str:
    """What the served weights are: the GGUF's sha256 for the embedded backend; for an
    upstream, its model id with ``backend.upstream.model_revision`` (an id alone does not say
    which weights serve it)."""
    backend = settings.backend
    if backend.kind == "llamacpp":
        path = backend.llamacpp.model_path or embedded_model_path()
        try:
            digest = file_sha256(path)
        except OSError as exc:
            raise GuardStartError(f"{path}: cannot read the model file to hash it") from exc
        return fingerprint({"kind": "llamacpp", "gguf_sha256": digest})
    revision = backend.upstream.model_revision if backend.kind == "openai" else None
    return fingerprint({"kind": backend.kind, "model": model_id, "revision": revision})


def code_fingerprints() -> dict[str, str]:
    """Versions of the code the guarantee depends on (syntax trees, not text)."""
    return {
        "verifier_code": code_version([verifiers]),
        "judge_code": code_version(
            [calibration.reference_judge, verifiers.text, verifiers.refusal]
        ),
        "loop_code": code_version([server.loop, server.refinement, server.guarded]),
    }


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
        model_weights=weights_fingerprint(settings, model_id),
        **code_fingerprints(),
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
    # A certificate over targets covers targets drawn like its calibration targets, so the
    # forget set is judged by coverage, not pinned; a per-query one is about its forget set.
    pinned = not artifact.over_targets
    mismatched = tuple(artifact.fingerprints.mismatches(current, pin_forget_set=pinned))
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
    """The ``guarantee`` of answers under ``artifact``. A stale artifact's certificate does not
    hold for this server, so it is never shown as certified: ``certified`` is false whenever
    ``stale`` is true, and the statement says why."""
    statement = artifact.statement
    if stale:
        statement = (
            "NOT CERTIFIED for this server: it differs from what the artifact was calibrated "
            "with (see /ready), so the following does not hold here. " + statement
        )
    return Guarantee(
        method=artifact.method,
        certified=artifact.passed and not stale,
        epsilon=artifact.epsilon,
        forget_epsilon=artifact.forget_epsilon,
        delta=artifact.delta,
        n_calibration=artifact.n,
        n_targets=artifact.n_targets,
        artifact=artifact.artifact_id(),
        stale=stale,
        statement=statement,
    )


__all__ = [
    "ActivePolicy",
    "GuardStartError",
    "current_fingerprints",
    "policy_for",
    "read_configured_artifact",
    "resolve_policy",
]
