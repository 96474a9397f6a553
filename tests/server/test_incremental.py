"""``lethe calibrate --incremental``: the served targets the dataset lacks become a new group
whose forget set is the whole served set (mode 600), the groups already recorded come from the
cache, the artifact's calibrated size grows with the served set, progress reaches a
Pushgateway, and ``--publish`` puts the artifact in the store. A scripted model that repeats
its context (the RAG leak) and the real verifiers."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from calibration.artifact import read_artifact
from calibration.builder import QA, Plan, build_queries, subjects_of
from calibration.dataset import read_dataset, write_dataset
from server.cli import main
from server.store import GLOBAL, open_store, target_hash
from verifiers.forgetset import Target, load_forget_set


def person(key: str, first: str, last: str, city: str, craft: str) -> Target:
    name = f"{first} {last}"
    return Target(
        id=key,
        name=name,
        facts=(
            f"{name} was born in {city} in 1958.",
            f"{name} is known for {craft}.",
            f"{name} won the Ostrava Lantern Prize for {craft}.",
        ),
    )


PROXIES = [
    person("p-1", "Orla", "Vantreese", "Galway", "tapestry weaving"),
    person("p-2", "Benedek", "Szalontai", "Pécs", "glass harmonicas"),
    person("p-3", "Ilse", "Marchetti", "Trieste", "sundial restoration"),
    person("p-4", "Tomasz", "Wierzbicki", "Gdańsk", "amber carving"),
]
SERVED = [
    person("s-1", "Marguerite", "Olsweld", "Tromsø", "horse breeding"),
    person("s-2", "Casimir", "Bellhaven", "Lyon", "clock making"),
    person("s-3", "Eulalia", "Prendergast", "Cork", "bog archaeology"),
]
LATER = [
    person("s-4", "Halvard", "Ruustad", "Bergen", "fiddle making"),
    person("s-5", "Philippa", "Quennell", "Bath", "topiary design"),
]
GENERAL = [QA("What is the capital of Norway?", "Oslo"), QA("How many legs has a spider?", "8")]
PLAN = Plan(forget=1, mixed=1, overlap=0, plain=1)


def base_dataset(root: Path) -> Path:
    """A calibration dataset of four proxy targets (one forget set), as build-dataset makes."""
    queries = build_queries("proxy", subjects_of(PROXIES), [], GENERAL, PLAN, seed=0)
    about = {"plan": PLAN.__dict__, "seed": 0}
    write_dataset(root, "proxies", "person", {"proxy": PROXIES}, queries, about)
    return root


def write_forget_set(path: Path, targets: list[Target]) -> Path:
    document = {"version": 1, "targets": [t.model_dump(mode="json") for t in targets]}
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    base_dataset(tmp_path / "base")
    forget = write_forget_set(tmp_path / "forget.yaml", SERVED)
    config = tmp_path / "lethe.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "backend": {"kind": "scripted", "scripted": {"echo": True}},
                "unlearning": {
                    "forget_set": str(forget),
                    "store": f"sqlite:///{tmp_path}/lethe.sqlite3",
                    "verifiers": ["entity", "fact"],
                },
            }
        )
    )
    general = tmp_path / "general.jsonl"
    general.write_text("".join(json.dumps({"question": q.question, "answer": q.answer}) + "\n"
                               for q in GENERAL))  # fmt: skip
    return {"root": tmp_path, "config": config, "general": general}


def calibrate_args(paths: dict[str, Path], *extra: str) -> list[str]:
    root = paths["root"]
    return [
        "calibrate", "--config", str(paths["config"]), "--incremental",
        "--dataset", str(root / "ds"), "--base-dataset", str(root / "base"),
        "--artifact", str(root / "out" / "artifact.json"), "--report", str(root / "out" / "r.md"),
        "--cache-dir", str(root / "cache"), "--general", str(paths["general"]),
        "--epsilon", "0.5", "--forget-epsilon", "0.5", "--delta", "0.5",
        "--max-budget", "1", "--candidates", "1", "--concurrency", "1", *extra,
    ]  # fmt: skip


def records(cache: Path) -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(cache.rglob("records.jsonl"))}


def test_new_targets_become_a_group_and_only_it_runs(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = setup["root"]
    assert main(calibrate_args(setup)) == 0
    out = capsys.readouterr().out
    assert "added group served-001: 9 queries about 3 new targets" in out
    first = read_artifact(root / "out" / "artifact.json")
    assert first.max_forget_set_size == 4  # the proxy set is still the largest
    assert first.n_targets == 7
    dataset = read_dataset(root / "ds")
    assert list(dataset.forget_sets) == ["proxy", "served-001"]
    group_file = dataset.forget_sets["served-001"]
    assert stat.S_IMODE(group_file.stat().st_mode) == 0o600  # it holds facts
    assert stat.S_IMODE((root / "ds").stat().st_mode) == 0o700
    assert {t.id for t in load_forget_set(group_file).targets} == {"s-1", "s-2", "s-3"}
    recorded = records(root / "cache")
    assert len(recorded) == 2  # one records file per group (one strategy)

    # Two deletion requests arrive (lethe targets add, or the API): the served set is 5.
    store = open_store(f"sqlite:///{root}/lethe.sqlite3")
    for target in LATER:
        store.put(GLOBAL, target, replace=False, actor="test")
    store.close()
    assert main(calibrate_args(setup)) == 0
    assert "added group served-002: 6 queries about 2 new targets" in capsys.readouterr().out
    second = read_artifact(root / "out" / "artifact.json")
    assert second.max_forget_set_size == 5  # grew with the served forget set
    assert second.n_targets == 9
    served = load_forget_set(read_dataset(root / "ds").forget_sets["served-002"])
    assert len(served) == 5  # the whole served set, queries about the new two only
    assert {q.group for q in read_dataset(root / "ds").queries if q.forget_set == "served-002"} == {
        "served-002/s-4",
        "served-002/s-5",
    }
    after = records(root / "cache")
    assert {p: after[p] for p in recorded} == recorded  # cached groups: not recomputed
    (new,) = set(after) - set(recorded)
    assert len(after[new].splitlines()) == 6  # only the new group's queries ran
    assert [p.name for p in (root / "out").iterdir() if p.name.startswith(".")] == []

    # Nothing new: nothing added, nothing recomputed, the same certificate.
    assert main(calibrate_args(setup)) == 0
    assert "in the dataset already" in capsys.readouterr().out
    assert records(root / "cache") == after
    assert read_artifact(root / "out" / "artifact.json").n_targets == 9


def test_publish_puts_the_artifact_and_its_calibrated_targets_in_the_store(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = setup["root"]
    assert main(calibrate_args(setup, "--publish")) == 0
    artifact = read_artifact(root / "out" / "artifact.json")
    assert f"published {artifact.artifact_id()} for global" in capsys.readouterr().out
    store = open_store(f"sqlite:///{root}/lethe.sqlite3")
    try:
        (active,) = store.artifacts()
        assert active.artifact_id == artifact.artifact_id()
        assert active.calibrated == {t.id: target_hash(t) for t in SERVED}
        assert active.actor.startswith("calibrate:")
    finally:
        store.close()
    assert main(["artifacts", "list", "--config", str(setup["config"]), "--json"]) == 0
    (listed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (listed["scope"], listed["artifact"], listed["calibrated_targets"]) == (
        "global",
        artifact.artifact_id(),
        3,
    )
    assert listed["max_forget_set_size"] == 4
    assert "Olsweld" not in json.dumps(listed)  # ids and sizes, never content


class Gateway(BaseHTTPRequestHandler):
    pushes: ClassVar[list[tuple[str, str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        Gateway.pushes.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def pushgateway() -> Iterator[str]:
    Gateway.pushes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_progress_and_the_outcome_reach_the_pushgateway(
    setup: dict[str, Path], pushgateway: str
) -> None:
    assert main(calibrate_args(setup, "--pushgateway", pushgateway)) == 0
    paths = {path for _, path, _ in Gateway.pushes}
    assert paths == {"/metrics/job/lethe-calibrate/scope/global"}
    bodies = "".join(body for _, _, body in Gateway.pushes)
    assert "lethe_calibration_queries_planned 21.0" in bodies  # 21 queries, one strategy
    assert "lethe_calibration_queries_done 21.0" in bodies
    assert "lethe_calibration_last_success_timestamp_seconds" in Gateway.pushes[-1][2]
    assert "lethe_calibration_max_forget_set_size 4.0" in Gateway.pushes[-1][2]
    assert "Olsweld" not in bodies


def test_an_unreachable_pushgateway_never_fails_the_calibration(setup: dict[str, Path]) -> None:
    assert main(calibrate_args(setup, "--pushgateway", "http://127.0.0.1:9")) == 0


def test_bad_invocations_exit_2_before_any_work(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = setup["root"]
    args = calibrate_args(setup)
    without_base = [a for a in args if a not in ("--base-dataset", str(root / "base"))]
    assert main(without_base) == 2
    assert "give --base-dataset" in capsys.readouterr().err
    assert main([*calibrate_args(setup), "--tenant", "nobody"]) == 2
    assert "unknown tenant" in capsys.readouterr().err
    plain = [a for a in args if a != "--incremental"]
    assert main([*plain, "--publish"]) == 2
    assert not (root / "out" / "artifact.json").exists()


def test_a_tenants_targets_are_recalibrated_and_published_for_that_tenant(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = setup["root"]
    tenant_forget = write_forget_set(root / "acme.yaml", LATER)
    config = yaml.safe_load(setup["config"].read_text())
    config["tenants"] = {"acme": {"api_keys": ["acme-key"], "forget_set": str(tenant_forget)}}
    setup["config"].write_text(yaml.safe_dump(config))
    assert main(calibrate_args(setup, "--tenant", "acme", "--publish")) == 0
    assert "added group served-acme-001: 6 queries about 2 new targets" in capsys.readouterr().out
    served = load_forget_set(read_dataset(root / "ds").forget_sets["served-acme-001"])
    assert {t.id for t in served} == {"s-4", "s-5"}  # the tenant's own targets only
    store = open_store(f"sqlite:///{root}/lethe.sqlite3")
    try:
        (active,) = store.artifacts()
        assert active.scope == "acme"
        assert active.calibrated == {t.id: target_hash(t) for t in LATER}
    finally:
        store.close()
