"""Progress of a calibration run for Prometheus, pushed to a Pushgateway (``lethe calibrate
--pushgateway URL``): a batch job lives too briefly, and in too few places, to be scraped.

Pushes use ``pushadd`` (HTTP POST), which replaces only the metrics pushed, so the last
success time of an earlier run survives a run that fails. Progress is pushed at most every
``PUSH_INTERVAL_SECONDS``; a Pushgateway that cannot be reached is logged once and never fails
the calibration (the artifact is what matters). Labels: the job and the scope, never content.
"""

from __future__ import annotations

import logging
import time
from urllib.error import URLError

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

from calibration.artifact import Artifact

logger = logging.getLogger("lethe.progress")

JOB = "lethe-calibrate"
PUSH_INTERVAL_SECONDS = 5.0
"""Prometheus scrapes a Pushgateway every 15-60 s: pushing more often shows nothing more."""
PUSH_TIMEOUT_SECONDS = 5.0


class CalibrationProgress:
    """Queries done out of those planned; on success, when, and what was certified."""

    def __init__(self, gateway: str | None, scope: str = "global") -> None:
        self._gateway = gateway
        self._grouping = {"scope": scope}
        self._last_push = 0.0
        self._warned = False
        self.done = 0
        self.total = 0
        self._progress = CollectorRegistry()
        self._done = Gauge(
            "lethe_calibration_queries_done",
            "Calibration query runs finished (recorded or read from the cache), this run.",
            registry=self._progress,
        )
        self._planned = Gauge(
            "lethe_calibration_queries_planned",
            "Calibration query runs this run needs (queries x strategies).",
            registry=self._progress,
        )
        self._started = Gauge(
            "lethe_calibration_started_timestamp_seconds",
            "When this calibration run started, unix seconds.",
            registry=self._progress,
        )
        self._outcome = CollectorRegistry()
        self._succeeded = Gauge(
            "lethe_calibration_last_success_timestamp_seconds",
            "When a calibration run last finished and wrote its artifact, unix seconds.",
            registry=self._outcome,
        )
        self._certified = Gauge(
            "lethe_calibration_certified",
            "1 if the last successful run certified a configuration, else 0.",
            registry=self._outcome,
        )
        self._targets = Gauge(
            "lethe_calibration_targets",
            "Calibration targets (units) of the last successful run.",
            registry=self._outcome,
        )
        self._max_size = Gauge(
            "lethe_calibration_max_forget_set_size",
            "Largest forget set calibrated by the last successful run (coverage reaches it).",
            registry=self._outcome,
        )

    def start(self, total: int) -> None:
        self.total, self.done = total, 0
        self._planned.set(total)
        self._done.set(0)
        self._started.set(time.time())
        self._push(self._progress, force=True)

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        self._done.set(self.done)
        self._push(self._progress)

    def reach(self, done: int) -> None:
        """At least ``done`` runs are finished (cached runs are counted in one step)."""
        if done > self.done:
            self.advance(done - self.done)

    def succeeded(self, artifact: Artifact) -> None:
        self.reach(self.total)
        self._succeeded.set(time.time())
        self._certified.set(1 if artifact.passed else 0)
        self._targets.set(artifact.n_targets)
        self._max_size.set(artifact.max_forget_set_size)
        self._push(self._progress, force=True)
        self._push(self._outcome, force=True)

    def _push(self, registry: CollectorRegistry, *, force: bool = False) -> None:
        if self._gateway is None:
            return
        now = time.monotonic()
        if not force and now - self._last_push < PUSH_INTERVAL_SECONDS:
            return
        self._last_push = now
        try:
            pushadd_to_gateway(
                self._gateway,
                job=JOB,
                registry=registry,
                grouping_key=self._grouping,
                timeout=PUSH_TIMEOUT_SECONDS,
            )
        except (OSError, URLError) as exc:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "cannot push progress to the Pushgateway %s (%s); calibrating on",
                    self._gateway,
                    type(exc).__name__,
                )
