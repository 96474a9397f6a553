"""Prometheus metrics, one registry per app (no process globals). Names start with ``lethe_``.

Labels never carry request content or forget-set content: only fixed vocabularies
(route templates, status codes, backend kinds, verifier names).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self._refreshers: list[Callable[[], None]] = []
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "lethe_http_requests",
            "HTTP requests answered, by route template and status code.",
            ["route", "code"],
            registry=r,
        )
        self.http_duration = Histogram(
            "lethe_http_request_duration_seconds",
            "Time from request start to the end of the response body.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "lethe_requests_in_flight", "Requests being handled now.", registry=r
        )
        self.rejected = Counter(
            "lethe_requests_rejected",
            "Requests refused before reaching the model, by reason.",
            ["reason"],
            registry=r,
        )
        self.completions = Counter(
            "lethe_completions",
            "Chat completions by unlearning status (accepted, refined, refused, bypassed).",
            ["status"],
            registry=r,
        )
        self.candidates = Counter("lethe_candidates", "Candidate answers generated.", registry=r)
        self.tokens = Counter(
            "lethe_tokens", "Tokens processed by the backend, by kind.", ["kind"], registry=r
        )
        self.backend_latency = Histogram(
            "lethe_backend_latency_seconds",
            "Backend call latency (a whole generate call, or a stream to its last piece).",
            ["backend", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.backend_errors = Counter(
            "lethe_backend_errors",
            "Backend calls that failed, by backend and error code.",
            ["backend", "code"],
            registry=r,
        )
        self.client_disconnects = Counter(
            "lethe_client_disconnects",
            "Requests whose client went away before the answer; backend work was cancelled.",
            registry=r,
        )

        self.leakage_score = Histogram(
            "lethe_leakage_score",
            "Aggregated leakage score of every verified candidate.",
            buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
            registry=r,
        )
        self.verifier_latency = Histogram(
            "lethe_verifier_latency_seconds",
            "Time one verifier took on one candidate.",
            ["verifier"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=r,
        )
        self.verifier_failures = Counter(
            "lethe_verifier_failures",
            "Verifier runs that raised, timed out or returned an invalid score (each counted "
            "as a leak: fail closed).",
            ["verifier", "reason"],
            registry=r,
        )
        self.rounds = Histogram(
            "lethe_rounds",
            "Loop rounds a guarded request used (1 = accepted at once).",
            buckets=(1, 2, 3, 4, 5, 6, 8, 11),
            registry=r,
        )
        self.refusals = Counter(
            "lethe_refusals",
            "Answers replaced by the fallback because every candidate of every round leaked.",
            registry=r,
        )

        self.reloads = Counter(
            "lethe_reloads",
            "Hot reloads of the forget set or artifact, by outcome (failed: the previous "
            "state is kept).",
            ["resource", "outcome"],
            registry=r,
        )
        self.policy_stale = Gauge(
            "lethe_policy_stale",
            "1 while the calibration artifact does not match the forget set, verifiers, "
            "model, sampling or prompts being served (/ready answers 503).",
            registry=r,
        )
        self.forget_set_targets = Gauge(
            "lethe_forget_set_targets", "Targets in the forget set being enforced.", registry=r
        )

        # The target store and live forget-set changes. ``scope`` is "global" or a tenant's
        # configured name: a fixed vocabulary, never a target.
        self.store_up = Gauge(
            "lethe_store_up",
            "1 while the target store answers; 0 after a failed read or write (the last good "
            "forget sets stay in force; before any was loaded, guarded requests get 503).",
            registry=r,
        )
        self.store_errors = Counter(
            "lethe_store_errors",
            "Target store operations that failed, by operation.",
            ["operation"],
            registry=r,
        )
        self.store_revision = Gauge(
            "lethe_store_revision",
            "The store revision this instance enforces; replicas in step show the same.",
            registry=r,
        )
        self.target_changes = Counter(
            "lethe_target_changes",
            "Writes through /admin/targets and `lethe targets`, by operation and outcome.",
            ["operation", "outcome"],
            registry=r,
        )
        self.scope_targets = Gauge(
            "lethe_scope_targets", "Targets stored per scope.", ["scope"], registry=r
        )
        self.index_pending = Gauge(
            "lethe_index_pending_targets",
            "Targets written or removed since the scope's main index was built (enforced by "
            "the small delta index until the next background merge).",
            ["scope"],
            registry=r,
        )
        self.index_merges = Counter(
            "lethe_index_merges", "Background merges of delta indexes into main ones.", registry=r
        )
        self.interim_targets = Gauge(
            "lethe_interim_targets",
            "Targets the calibration artifact does not vouch for (interim rule), per scope.",
            ["scope"],
            registry=r,
        )
        self.interim_oldest_age = Gauge(
            "lethe_interim_oldest_age_seconds",
            "Age of the oldest target under the interim rule (0: none).",
            ["scope"],
            registry=r,
        )
        self.interim_overdue = Gauge(
            "lethe_interim_targets_overdue",
            "Targets under the interim rule for longer than unlearning.interim_alert_seconds.",
            ["scope"],
            registry=r,
        )

        # The calibration artifact each scope's answers run under (a tenant without its own:
        # the global one), as installed from the store.
        self.artifact_created = Gauge(
            "lethe_artifact_created_timestamp_seconds",
            "When the calibration artifact in force was made (its `created`), unix seconds.",
            ["scope"],
            registry=r,
        )
        self.artifact_age = Gauge(
            "lethe_artifact_age_seconds",
            "Age of the calibration artifact in force (now - its `created`).",
            ["scope"],
            registry=r,
        )
        self.artifact_published = Gauge(
            "lethe_artifact_published_timestamp_seconds",
            "When the artifact in force was published to the target store, unix seconds.",
            ["scope"],
            registry=r,
        )

    def on_scrape(self, refresh: Callable[[], None]) -> None:
        """Call ``refresh`` before each scrape: gauges too costly to keep current on every
        change (ages, counts over many targets) are computed when someone looks."""
        self._refreshers.append(refresh)

    def render(self) -> bytes:
        for refresh in self._refreshers:
            refresh()
        return generate_latest(self.registry)
