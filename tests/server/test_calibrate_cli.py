"""``lethe build-dataset`` and ``lethe calibrate``: traffic for any forget set, a small real
calibration over targets end to end, and what is rejected before any generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibration.artifact import coverage, read_artifact
from calibration.dataset import read_dataset
from calibration.ltt import TargetCountError
from server.calibrate_cli import (
    CalibrateOptions,
    calibration_plan,
    check_plan,
    run_calibrate,
)
from server.cli import main
from server.config import Settings
from server.guard import Guard
from server.metrics import Metrics
from server.policy import current_fingerprints, resolve_policy

REPO = Path(__file__).resolve().parents[2]
TOFU = REPO.parent / "shared" / "data" / "tofu"
DEMO_FORGET = REPO / "deploy" / "forget-sets" / "tofu-forget10.yaml"
RETAIN = """\
version: 1
targets:
  - id: r-1
    name: Ines Calloway
    facts: [Ines Calloway writes cookbooks about fermentation.]
"""


def test_build_dataset_for_any_forget_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "retain.yaml").write_text(RETAIN)
    general = _general(tmp_path)
    out = tmp_path / "ds"
    retain = tmp_path / "retain.yaml"
    code = main(
        ["build-dataset", "--forget-set", str(DEMO_FORGET), "--retain", str(retain),
         "--general", str(general), "--out", str(out), "--seed", "3"]
    )  # fmt: skip
    assert code == 0
    assert "wrote 90 queries about 15 targets" in capsys.readouterr().out
    dataset = read_dataset(out)
    assert list(dataset.forget_sets) == ["tofu-forget10"]
    assert len({q.group for q in dataset.queries}) == 15
    assert {q.kind for q in dataset.queries} == {"forget", "mixed", "unrelated"}


def test_too_few_targets_are_rejected_before_any_generation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    assert main(["build-dataset", "--forget-set", str(DEMO_FORGET), "--general",
                 str(_general(tmp_path)), "--out", str(out)]) == 0  # fmt: skip
    code = main(
        ["calibrate", "--config", str(REPO / "deploy" / "demo.yaml"), "--dataset", str(out),
         "--artifact", str(tmp_path / "a.json"), "--report", str(tmp_path / "r.md"),
         "--epsilon", "0.05", "--forget-epsilon", "0.05", "--max-budget", "2"]
    )  # fmt: skip
    assert code == 2
    error = capsys.readouterr().err
    assert "15 calibration units (targets) cannot support epsilon = 0.05" in error
    assert "at least 80 are needed" in error
    assert not (tmp_path / "a.json").exists()


def _general(tmp_path: Path) -> Path:
    path = tmp_path / "general.jsonl"
    path.write_text(json.dumps({"question": "Capital of Norway?", "answer": "Oslo."}) + "\n")
    return path


@pytest.mark.slow
@pytest.mark.model
def test_small_calibration_over_targets_end_to_end(tmp_path: Path) -> None:
    assert main(["build-dataset", "--tofu", str(TOFU), "--out", str(tmp_path / "ds"),
                 "--sets", "2", "--size", "3", "--test-sets", "1", "--forget", "1",
                 "--mixed", "1", "--overlap", "0", "--plain", "0"]) == 0  # fmt: skip
    settings = Settings(
        backend={"kind": "llamacpp", "llamacpp": {"pool_size": 1}},
        generation={"default_max_tokens": 24},
        unlearning={"forget_set": str(DEMO_FORGET)},
    )
    options = CalibrateOptions(
        dataset=tmp_path / "ds" / "tofu-proxy-calibration",
        artifact=tmp_path / "artifact.json",
        report=tmp_path / "report.md",
        epsilon=0.5,
        forget_epsilon=0.5,
        delta=0.5,
        max_budget=1,
        candidates=1,
        strategies=("reprompt", "scrub"),
        concurrency=1,
        cache_dir=tmp_path / "cache",
    )
    assert run_calibrate(settings, options) == 0

    artifact = read_artifact(options.artifact)
    assert (artifact.unit, artifact.n, artifact.n_targets) == ("target", 12, 6)
    assert (artifact.n_forget, artifact.n_unrelated) == (12, 0)  # forget and mixed questions
    assert len(artifact.forget_sets) == 2
    assert artifact.max_forget_set_size == 3
    assert artifact.max_tokens == 24
    assert artifact.calibration_set is not None
    assert artifact.fingerprints.model_weights is not None
    # K = 0 and 1 for the first strategy, K = 1 for the second: 17 thresholds each.
    assert len(artifact.grid) == 17 * 3
    assert {row["strategy"] for row in artifact.grid} == {"reprompt", "scrub"}
    assert artifact.policy.strategy in ("reprompt", "scrub")
    if artifact.passed:
        assert artifact.p_value <= 0.5 / 3  # certified at delta / 3 (three sequences)
        assert coverage(artifact, "person", 3) == "certified"
    report = options.report.read_text()
    assert "Budget K = 1, strategy `scrub`" in report
    assert "Budget K = 0, any strategy" in report
    assert (tmp_path / "report.png").stat().st_size > 1000

    records = sorted((tmp_path / "cache").rglob("records.jsonl"))
    assert len(records) == 4  # per forget set (its own verifiers) and per strategy
    lines = [json.loads(line) for path in records for line in path.read_text().splitlines()]
    assert len(lines) == 24
    assert all(r["rounds"] and "leaks" in r["rounds"][0][0] for r in lines)
    # Every generation went through the memo a re-run reads (one file for the one model);
    # the two strategies shared each query's first round.
    (memo,) = (tmp_path / "cache" / "generations").glob("*.jsonl")
    remembered = [line for line in memo.read_text().splitlines() if line.strip()]
    calls = sum(len(r["rounds"]) for r in lines)
    assert 12 <= len(remembered) < calls

    # The server accepts the artifact it just made, for its own (other) forget set too.
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
    assert active.guarantee.n_targets == 6
    assert active.loop.threshold == artifact.policy.threshold
    guard.close()


def test_a_plain_query_file_runs_against_the_configured_forget_set(tmp_path: Path) -> None:
    """The old single-file form: every query is checked by the configured forget set's suite,
    its unit is its ``group``, and too few groups are rejected before any generation."""
    queries = tmp_path / "q.jsonl"
    rows = [
        {"id": f"q{i}", "question": "Q?", "reference": "gold", "group": f"author-{i % 3}"}
        for i in range(9)
    ]
    queries.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settings = Settings(backend={"kind": "scripted"}, unlearning={"forget_set": str(DEMO_FORGET)})
    options = CalibrateOptions(
        artifact=tmp_path / "a.json", report=tmp_path / "r.md", queries=queries, max_budget=1
    )
    plan = calibration_plan(settings, options)
    (group,) = plan.groups
    assert group.forget_set.name == "tofu-forget10"
    assert len(group.queries) == 9
    assert plan.target_kind == "person"
    with pytest.raises(TargetCountError, match="3 calibration units"):
        check_plan(plan, options)
