"""A small calibration run end to end on the embedded model: record, certify, write, load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibration.artifact import read_artifact
from server.calibrate_cli import CalibrateOptions, run_calibrate
from server.config import Settings
from server.guard import Guard
from server.metrics import Metrics
from server.policy import current_fingerprints, resolve_policy

pytestmark = [pytest.mark.slow, pytest.mark.model]

REPO = Path(__file__).resolve().parents[2]
QUERIES = REPO / "deploy" / "calibration" / "tofu-calibration.jsonl"
FORGET = REPO / "deploy" / "forget-sets" / "tofu-forget10.yaml"


def _small_query_file(path: Path) -> None:
    lines = QUERIES.read_text(encoding="utf-8").splitlines()
    forget = [line for line in lines if '"kind": "forget"' in line][:5]
    unrelated = [line for line in lines if '"kind": "unrelated"' in line][-5:]
    path.write_text("\n".join(forget + unrelated) + "\n", encoding="utf-8")


def test_small_calibration_run(tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    _small_query_file(queries)
    settings = Settings(
        backend={"kind": "llamacpp", "llamacpp": {"pool_size": 1}},
        generation={"default_max_tokens": 24},
        unlearning={"forget_set": str(FORGET)},
    )
    options = CalibrateOptions(
        queries=queries,
        artifact=tmp_path / "artifact.json",
        report=tmp_path / "report.md",
        epsilon=0.3,
        delta=0.3,
        max_budget=1,
        candidates=1,
        concurrency=1,
        cache_dir=tmp_path / "cache",
    )
    assert run_calibrate(settings, options) == 0

    artifact = read_artifact(options.artifact)
    assert artifact.n == 10
    assert (artifact.n_forget, artifact.n_unrelated) == (5, 5)
    assert artifact.policy.candidates == 1
    assert artifact.policy.budget in (0, 1)
    assert len(artifact.grid) == 17 * 2
    if artifact.passed:  # certified at delta / 2 (two budget sequences)
        assert artifact.p_value <= 0.15
    report = options.report.read_text()
    assert "Budget K = 1" in report
    assert (tmp_path / "report.png").stat().st_size > 1000

    records = list((tmp_path / "cache").rglob("records.jsonl"))
    assert len(records) == 1
    lines = [json.loads(line) for line in records[0].read_text().splitlines()]
    assert len(lines) == 10
    assert all(r["rounds"] and "leaks" in r["rounds"][0][0] for r in lines)

    # The server accepts the artifact it just made: same forget set, verifiers, model, ...
    guard = Guard.from_settings(settings, Metrics())
    assert guard is not None
    served = settings.model_copy(
        update={"unlearning": settings.unlearning.model_copy(update={"artifact": options.artifact})}
    )
    current = current_fingerprints(
        served, guard.forget_set, guard.suite.config, "smollm2-135m-instruct"
    )
    active = resolve_policy(served, current)
    assert not active.stale
    assert active.guarantee is not None
    assert active.loop.threshold == artifact.policy.threshold
    guard.close()
