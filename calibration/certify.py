"""Certify a policy from recorded loop runs and write its artifact and report.

``lethe calibrate`` (``server/calibrate_cli.py``) records the real loop on calibration queries
(:mod:`calibration.recorder`); this module turns those records into the certificate: every
(τ, K) on the grid evaluated, Learn-then-Test at (ε, δ), the selected policy, the artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from calibration.evaluate import Calibration, QueryRecord, calibrate
from calibration.report import write_report


@dataclass(frozen=True)
class CalibrateOptions:
    queries: Path
    artifact: Path
    report: Path
    epsilon: float = 0.05
    delta: float = 0.05
    max_budget: int = 3
    candidates: int = 2
    strategy: Strategy = "reprompt"
    concurrency: int = 2
    cache_dir: Path = Path(".lethe-cache/calibrate")


def build_artifact(
    options: CalibrateOptions, fingerprints: Fingerprints, result: Calibration
) -> Artifact:
    """The artifact of ``result``: the chosen policy, or a refusing one if none certified."""
    records_n = next(iter(result.results.values())).n
    chosen = result.chosen
    passed = chosen is not None
    choice = chosen or replace(next(iter(result.results.values())), threshold=0.0, budget=0)
    hypothesis = result.hypothesis(chosen.threshold, chosen.budget) if chosen else None
    forget_n = next(iter(result.results.values())).forget_n
    return Artifact(
        created=now(),
        passed=passed,
        policy=PolicyChoice(
            threshold=choice.threshold if passed else 0.0,
            budget=choice.budget if passed else 0,
            candidates=options.candidates,
            strategy=options.strategy,
        ),
        epsilon=options.epsilon,
        delta=options.delta,
        n=records_n,
        n_forget=forget_n,
        n_unrelated=records_n - forget_n,
        failures=choice.failures if passed else 0,
        p_value=hypothesis.p_value if hypothesis else 1.0,
        refusal_rate_unrelated=choice.refusal_unrelated if passed else 1.0,
        mean_rounds=choice.mean_rounds if passed else 1.0,
        statement=statement(options.epsilon, options.delta, records_n, passed),
        fingerprints=fingerprints,
        grid=[
            {
                "threshold": h.threshold,
                "budget": h.budget,
                "failures": h.failures,
                "p_value": h.p_value,
                "certified": h.rejected,
                "refusal_unrelated": result.results[(h.threshold, h.budget)].refusal_unrelated,
                "mean_rounds": result.results[(h.threshold, h.budget)].mean_rounds,
            }
            for h in result.hypotheses
        ],
    )


def certify(
    records: Sequence[QueryRecord], options: CalibrateOptions, fingerprints: Fingerprints
) -> Artifact:
    """Certify on ``records``, write the artifact and the report, return the artifact."""
    result = calibrate(
        records, options.epsilon, options.delta, budgets=range(options.max_budget + 1)
    )
    artifact = build_artifact(options, fingerprints, result)
    write_artifact(artifact, options.artifact)
    write_report(result, artifact, options.report)
    return artifact
