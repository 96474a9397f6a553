"""The one builder of guarded backend requests, for serving and calibration alike.

The guarantee holds for the candidate distribution that calibration measured, so the request
the loop sends for a client must be built exactly as the one it sent for a calibration query:
the calibrated temperature and top_p, and seeds derived the same way per choice and per round.
Calibration builds its queries' requests with :func:`query_request`, which goes through
:func:`guarded_request` like a client's request does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import cast, get_args

from calibration.artifact import Artifact, fingerprint
from server.backends.base import GenerationRequest, Message, Role, SamplingParams
from server.config import Settings, UnlearningSettings

# Seed offsets keep candidates apart while staying reproducible for a given request seed:
# each requested choice runs its own loop (1000 apart leaves room for any round budget), and
# each round of one loop draws fresh candidates (rounds are k seeds apart).
CHOICE_SEED_STRIDE = 1000


@dataclass(frozen=True, slots=True)
class GuardedSampling:
    """Sampling settings of guarded candidates: what the guarantee was measured with."""

    temperature: float
    top_p: float
    max_tokens: int | None = None  # the artifact's calibrated max_tokens: larger ones clamped

    @classmethod
    def of(
        cls, unlearning: UnlearningSettings, artifact: Artifact | None = None
    ) -> GuardedSampling:
        cap = artifact.max_tokens if artifact is not None else None
        return cls(unlearning.temperature, unlearning.top_p, cap)


def guarded_request(client: GenerationRequest, sampling: GuardedSampling) -> GenerationRequest:
    """The client's request as the loop runs it: the calibrated temperature and top_p, and
    max_tokens at most the calibrated one (calibration measured answers of that length, not
    longer ones); the client's stop, seed and penalties still apply."""
    params = replace(client.sampling, temperature=sampling.temperature, top_p=sampling.top_p)
    if sampling.max_tokens is not None and params.max_tokens > sampling.max_tokens:
        params = replace(params, max_tokens=sampling.max_tokens)
    return replace(client, sampling=params)


def choice_request(call: GenerationRequest, index: int) -> GenerationRequest:
    """The request of requested choice ``index``: each choice runs its own loop."""
    seed = call.sampling.seed
    if seed is None or index == 0:
        return call
    return replace(call, sampling=replace(call.sampling, seed=seed + CHOICE_SEED_STRIDE * index))


def round_request(
    call: GenerationRequest,
    prompt: tuple[Message, ...],
    number: int,
    candidates: int,
    bans: tuple[tuple[int, float], ...] = (),
) -> GenerationRequest:
    """Round ``number`` of one loop: ``candidates`` samples of ``prompt`` in one call, with the
    refinement's token ``bans`` added to the client's ``logit_bias`` (a ban wins)."""
    sampling = call.sampling
    if sampling.seed is not None:
        sampling = replace(sampling, seed=sampling.seed + number * candidates)
    if bans:
        merged = dict(sampling.logit_bias)
        merged.update(bans)
        sampling = replace(sampling, logit_bias=tuple(sorted(merged.items())))
    return replace(call, messages=prompt, n=candidates, sampling=sampling)


def query_seed(query_id: str) -> int:
    """A calibration or benchmark query's seed: stable across runs, distinct per query."""
    return int(fingerprint(query_id)[7:15], 16)


def query_request(
    settings: Settings, query_id: str, messages: Sequence[tuple[str, str]]
) -> GenerationRequest:
    """A calibration query sent like a client's request with the server's defaults (one
    choice, default max_tokens, a seed from the query id), then guarded like any other."""
    client = GenerationRequest(
        tuple(Message(_role(role), content) for role, content in messages),
        SamplingParams(settings.generation.default_max_tokens, seed=query_seed(query_id)),
        n=1,
    )
    return guarded_request(client, GuardedSampling.of(settings.unlearning))


def _role(role: str) -> Role:
    if role not in get_args(Role):
        raise ValueError(f"unknown message role {role!r}")
    return cast(Role, role)
