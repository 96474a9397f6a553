"""Generator backends, imported lazily by kind so optional dependencies stay optional."""

from __future__ import annotations

from server.backends.base import (
    Backend,
    Generation,
    GenerationRequest,
    GenerationResult,
    Message,
    SamplingParams,
    StreamDelta,
    Usage,
)
from server.config import BackendSettings

__all__ = [
    "Backend",
    "Generation",
    "GenerationRequest",
    "GenerationResult",
    "Message",
    "SamplingParams",
    "StreamDelta",
    "Usage",
    "create_backend",
]


def create_backend(settings: BackendSettings) -> Backend:
    """Build (not start) the backend ``settings.kind`` names."""
    if settings.kind == "llamacpp":
        from server.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(settings.llamacpp, served_model_name=settings.served_model_name)
    if settings.kind == "openai":
        from server.backends.openai import OpenAIUpstreamBackend

        return OpenAIUpstreamBackend(
            settings.upstream, served_model_name=settings.served_model_name
        )
    from server.backends.scripted import ScriptedBackend, echo_context

    return ScriptedBackend(
        echo_context if settings.scripted.echo else None,
        model_id=settings.served_model_name or "scripted",
        delay=settings.scripted.delay_seconds,
        record_calls=False,  # `lethe serve` runs for long: keep no per-request history
    )
