"""Certify a policy from recorded loop runs and write its artifact and report.

``lethe calibrate`` (``server/calibrate_cli.py``) records the real loop on calibration queries
(:mod:`calibration.recorder`); this module turns those records into the certificate: every
(τ, K) on the grid evaluated, Learn-then-Test over targets at (ε, ε_f, δ), the selected
policy, the artifact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from calibration.artifact import (
    Artifact,
    Fingerprints,
    PolicyChoice,
    Strategy,
    now,
    statement,
    write_artifact,
)
from calibration.evaluate import Calibration, ConfigResult, QueryRecord
from calibration.report import write_report
from calibration.strategies import StrategyGrid, calibrate_strategies

DEFAULT_FORGET_EPSILON = 0.10
"""ε_f by default: one leak in ten forget-related answers, averaged over targets. The marginal
ε (0.05) alone allowed a forget-side leak rate near 13 % on the old demo's traffic mix."""


@dataclass(frozen=True)
class CalibrateOptions:
    artifact: Path
    report: Path
    queries: Path | None = None  # one query file checked against the configured forget set
    dataset: Path | None = None  # or a dataset directory (``lethe build-dataset``)
    epsilon: float = 0.05
    forget_epsilon: float | None = DEFAULT_FORGET_EPSILON
    delta: float = 0.05
    max_budget: int = 3
    candidates: int = 2
    # Refinement strategies calibrated together (one family of hypotheses; the first one's
    # records also answer K = 0). The artifact names the one chosen.
    strategies: tuple[Strategy, ...] = ("reprompt",)
    concurrency: int = 2
    cache_dir: Path = Path(".lethe-cache/calibrate")


@dataclass(frozen=True)
class Provenance:
    """What the records were made from, for the artifact (never compared by the server)."""

    calibration_set: str
    forget_sets: tuple[str, ...]  # content hashes
    target_kinds: tuple[str, ...]
    max_forget_set_size: int
    max_tokens: int  # the guarded max_tokens every calibration query ran with


def _grid(grid: StrategyGrid) -> list[dict[str, object]]:
    return [row for s, result in grid.calibrations.items() for row in _rows(s, result)]


def _rows(strategy: Strategy, result: Calibration) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for h in result.hypotheses:
        config = result.results[(h.threshold, h.budget)]
        rows.append(
            {
                "strategy": strategy,
                "threshold": h.threshold,
                "budget": h.budget,
                "failures": config.failures,
                "risk": h.risk,
                "forget_risk": h.forget_risk,
                "p_value": h.combined_p_value,
                "marginal_p_value": h.p_value,
                "forget_p_value": h.forget_p_value,
                "certified": h.rejected,
                "utility": config.utility,
                "refusal_unrelated": config.refusal_unrelated,
                "refusal_mixed": config.refusal_mixed,
                "mean_rounds": config.mean_rounds,
            }
        )
    return rows


def build_artifact(
    options: CalibrateOptions,
    fingerprints: Fingerprints,
    grid: StrategyGrid,
    provenance: Provenance,
) -> Artifact:
    """The artifact of ``grid``: the chosen policy, or a refusing one if none certified."""
    result = grid.chosen
    chosen = result.chosen
    shown: ConfigResult = chosen or next(iter(result.results.values()))
    hypothesis = result.hypothesis(chosen.threshold, chosen.budget) if chosen else None
    artifact = Artifact(
        created=now(),
        passed=chosen is not None,
        policy=PolicyChoice(
            threshold=chosen.threshold if chosen else 0.0,
            budget=chosen.budget if chosen else 0,
            candidates=options.candidates,
            strategy=grid.chosen_strategy,
        ),
        epsilon=options.epsilon,
        delta=options.delta,
        n=shown.n,
        n_forget=shown.forget_n,
        n_unrelated=shown.n - shown.forget_n,
        failures=chosen.failures if chosen else 0,
        p_value=hypothesis.combined_p_value if hypothesis else 1.0,
        refusal_rate_unrelated=chosen.refusal_unrelated if chosen else 1.0,
        mean_rounds=chosen.mean_rounds if chosen else 1.0,
        statement="",
        fingerprints=fingerprints,
        grid=_grid(grid),
        unit="target",
        forget_epsilon=options.forget_epsilon,
        n_targets=shown.targets.n_targets,
        target_kinds=list(provenance.target_kinds),
        max_forget_set_size=provenance.max_forget_set_size,
        risk=chosen.risk if chosen else None,
        forget_risk=chosen.forget_risk if chosen else None,
        forget_p_value=hypothesis.forget_p_value if hypothesis else None,
        utility=chosen.utility if chosen else None,
        max_tokens=provenance.max_tokens,
        calibration_set=provenance.calibration_set,
        forget_sets=list(provenance.forget_sets),
    )
    return artifact.model_copy(update={"statement": statement(artifact)})


def certify(
    records: Mapping[Strategy, Sequence[QueryRecord]] | Sequence[QueryRecord],
    options: CalibrateOptions,
    fingerprints: Fingerprints,
    provenance: Provenance,
) -> Artifact:
    """Certify on ``records`` (per strategy; a plain sequence is the first strategy's), write
    the artifact and the report, return the artifact."""
    by_strategy = records if isinstance(records, Mapping) else {options.strategies[0]: records}
    grid = calibrate_strategies(
        by_strategy,
        options.epsilon,
        options.delta,
        budgets=range(options.max_budget + 1),
        forget_epsilon=options.forget_epsilon,
    )
    artifact = build_artifact(options, fingerprints, grid, provenance)
    write_artifact(artifact, options.artifact)
    write_report(grid, artifact, options.report)
    return artifact
