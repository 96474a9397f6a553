"""deploy/k8s/components/recalibration: the CronJob that runs `lethe calibrate --incremental
--publish` renders in both overlays (schemas: test_k8s), runs a command the real parser
accepts, with the Deployment's own configuration (the artifact it makes must be current for
the pods) and store, writes only to its volume, starts from a dataset the image holds, and is
never an endpoint of the lethe Service."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from server.cli import build_parser
from tests.deploy.container import REPO
from tests.deploy.dockerfile import parse
from tests.deploy.kustomize import Obj, find, render
from tests.deploy.test_dockerfile import image_fs
from tests.deploy.test_k8s import K8S, container, labels_match, lethe

# Each overlay's image target: the embedded model, or the gateway in front of vLLM.
IMAGE_STAGES = {"cpu": "embedded", "gpu-vllm": "gateway"}


def cronjob_pod(cronjob: Obj) -> Obj:
    pod: Obj = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    return pod


def recalibration(overlay: str) -> tuple[list[Obj], Obj, Obj]:
    objects = render(K8S / "overlays" / overlay)
    cronjob = find(objects, "CronJob", "lethe-recalibrate")
    (job_container,) = cronjob_pod(cronjob)["spec"]["containers"]
    return objects, cronjob, job_container


@pytest.mark.parametrize("overlay", IMAGE_STAGES)
def test_it_runs_an_incremental_calibration_that_publishes(overlay: str) -> None:
    _, cronjob, job = recalibration(overlay)
    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"  # one run per volume at a time
    args = build_parser().parse_args(job["args"])  # ENTRYPOINT is `lethe`
    assert (args.command, args.incremental, args.publish) == ("calibrate", True, True)
    assert args.pushgateway.startswith("http://")
    # The same grid as `make calibrate` (the shipped artifact), fixed between runs.
    makefile = (REPO / "Makefile").read_text()
    assert f"STRATEGIES ?= {' '.join(args.strategy)}\n" in makefile
    assert f"MAX_BUDGET ?= {args.max_budget}\n" in makefile
    assert f"EPSILON ?= {args.epsilon}\n" in makefile
    assert f"FORGET_EPSILON ?= {args.forget_epsilon}\n" in makefile


@pytest.mark.parametrize("overlay", IMAGE_STAGES)
def test_it_uses_the_deployments_config_policy_store_and_image(overlay: str) -> None:
    objects, cronjob, job = recalibration(overlay)
    deployment = lethe(objects)
    server = container(deployment, "lethe")
    assert job["image"] == server["image"]
    volumes = {v["name"]: v for v in cronjob_pod(cronjob)["spec"]["volumes"]}
    server_volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    for name in ("config", "policy"):  # the fingerprints must match what the pods serve
        assert volumes[name] == server_volumes[name]
    mounts = {m["name"]: m for m in job["volumeMounts"]}
    server_mounts = {m["name"]: m for m in server["volumeMounts"]}
    for name in ("config", "policy"):
        assert mounts[name] == server_mounts[name]
    config = PurePosixPath(job["args"][job["args"].index("--config") + 1])
    assert config.parent == PurePosixPath(mounts["config"]["mountPath"])
    store = {e["name"]: e for e in job["env"]}["LETHE_UNLEARNING__STORE"]
    assert store == {e["name"]: e for e in server["env"]}["LETHE_UNLEARNING__STORE"]


@pytest.mark.parametrize("overlay", IMAGE_STAGES)
def test_it_writes_only_to_its_volume_and_starts_from_the_images_dataset(
    overlay: str, tmp_path: Path
) -> None:
    objects, cronjob, job = recalibration(overlay)
    pod = cronjob_pod(cronjob)["spec"]
    claim = {v["name"]: v for v in pod["volumes"]}["calibration"]["persistentVolumeClaim"]
    find(objects, "PersistentVolumeClaim", claim["claimName"])
    root = PurePosixPath({m["name"]: m for m in job["volumeMounts"]}["calibration"]["mountPath"])
    args = build_parser().parse_args(job["args"])
    for written in (args.dataset, args.cache_dir, args.artifact, args.report):
        assert root in PurePosixPath(written).parents, written
    assert job["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    dockerfile = parse(REPO / "Dockerfile")
    (stage,) = (s for s in dockerfile.stages if s.name == IMAGE_STAGES[overlay])
    fs = image_fs(dockerfile, stage, tmp_path)
    assert fs.exists(PurePosixPath(str(args.base_dataset)) / "dataset.json")


@pytest.mark.parametrize("overlay", IMAGE_STAGES)
def test_the_service_never_routes_to_it(overlay: str) -> None:
    objects, cronjob, _ = recalibration(overlay)
    service = find(objects, "Service", "lethe")
    pod_labels = cronjob_pod(cronjob)["metadata"]["labels"]
    assert not labels_match(service["spec"]["selector"], pod_labels)
    pdb = find(objects, "PodDisruptionBudget", "lethe")
    assert not labels_match(pdb["spec"]["selector"]["matchLabels"], pod_labels)
