"""deploy/k8s: each kustomization renders with `kubectl kustomize` (tests/deploy/kustomize.py),
every object validates against the Kubernetes schemas bundled with kubernetes-validate
(offline), and the objects agree with each other, with the image and with Lethe's settings.
Generated ConfigMaps carry kustomize's content-hash suffix: they are found through the
references to them, never by their plain name."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
import yaml
from kubernetes_validate import utils as kv

from server import __version__
from server.cli import build_parser
from tests.deploy.container import (
    REPO,
    ContainerFS,
    forget_set_of,
    load_in_container,
    settings_field,
    stale_fields,
)
from tests.deploy.dockerfile import parse
from tests.deploy.kustomize import Obj, containers, find, pod_spec, referenced_files, render

K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("cpu", "gpu-vllm")
KUSTOMIZATIONS = ("base", "overlays/cpu", "overlays/gpu-vllm")
# The oldest Kubernetes these manifests support, and a current one.
K8S_VERSIONS = ("1.29.0", "1.35.0")
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
# Created by the operator, never kept in git (docs/deploy.md says how); name -> keys and the
# repository files the docs put in them.
POLICY_SECRET = "lethe-policy"
POLICY_FILES = {
    "cpu": {
        "forget-set.yaml": REPO / "deploy" / "forget-sets" / "tofu-forget10.yaml",
        "artifact.json": REPO / "deploy" / "artifacts" / "tofu-forget10.json",
    },
    "gpu-vllm": {"forget-set.yaml": REPO / "deploy" / "forget-sets" / "tofu-forget10.yaml"},
}
VERSION = __version__


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation must use the bundled schemas: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during validation")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def rendered(kustomization: str) -> list[Obj]:
    return render(K8S / kustomization)


def lethe(objects: list[Obj]) -> Obj:
    return find(objects, "Deployment", "lethe")


def container(deployment: Obj, name: str) -> Obj:
    found: list[Obj] = [c for c in pod_spec(deployment)["containers"] if c["name"] == name]
    assert len(found) == 1, name
    return found[0]


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def every_k8s_file() -> Iterator[Path]:
    for path in K8S.rglob("*.yaml"):
        yield path.resolve()


def test_every_file_is_used_and_every_reference_exists() -> None:
    used = {path for k in KUSTOMIZATIONS for path in referenced_files(K8S / k)}
    for path in used:
        assert path.exists(), path
    # Component directories count through the overlays that include them.
    assert set(every_k8s_file()) <= used


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_objects_validate_against_kubernetes_schemas(kustomization: str, version: str) -> None:
    objects = rendered(kustomization)
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys)), "duplicate objects"
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            continue  # no bundled schema: checked by hand below
        kv.validate(obj, version, strict=True)


@pytest.mark.usefixtures("no_network")
def test_the_validator_rejects_a_misspelt_field() -> None:
    deployment = lethe(rendered("overlays/cpu"))
    pod_spec(deployment)["containers"][0]["readinessprobe"] = {"httpGet": {"path": "/ready"}}
    with pytest.raises(kv.ValidationError):
        kv.validate(deployment, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_referenced_objects_exist(overlay: str) -> None:
    objects = rendered(f"overlays/{overlay}")
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        spec = pod_spec(obj)
        if "serviceAccountName" in spec:
            assert ("ServiceAccount", spec["serviceAccountName"]) in names
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names
            if "secret" in volume:
                assert volume["secret"]["secretName"] == POLICY_SECRET
        for env in (e for c in containers([obj]) for e in c.get("env", [])):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert ref.get("optional") is True, f"{env['name']}: a required external Secret"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_lethe_pods_are_hardened_and_probed(overlay: str) -> None:
    deployment = lethe(rendered(f"overlays/{overlay}"))
    spec = pod_spec(deployment)
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    image_user = parse(REPO / "Dockerfile").effective(parse(REPO / "Dockerfile").stages[-1], "USER")
    assert image_user is not None
    assert f"{pod_security['runAsUser']}:{pod_security['runAsGroup']}" == image_user.args
    assert spec["automountServiceAccountToken"] is False

    lethe_container = container(deployment, "lethe")
    security = lethe_container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m for m in lethe_container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]], "a writable /tmp"

    ports = {p["name"]: p["containerPort"] for p in lethe_container["ports"]}
    assert lethe_container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert lethe_container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert lethe_container["startupProbe"]["httpGet"]["path"] == "/health"
    assert ports["http"] == 8000

    resources = lethe_container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])  # the HPA needs a CPU request
    assert "memory" in resources["limits"]
    assert "replicas" not in deployment["spec"], "the HPA owns replicas"


@pytest.mark.parametrize(("overlay", "target"), [("cpu", "embedded"), ("gpu-vllm", "gateway")])
def test_lethe_runs_the_right_image_and_config(
    overlay: str, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered(f"overlays/{overlay}")
    deployment = lethe(objects)
    lethe_container = container(deployment, "lethe")
    suffix = "" if target == "embedded" else f"-{target}"
    assert lethe_container["image"] == f"lethe:{VERSION}{suffix}"
    parse(REPO / "Dockerfile").stage(target)

    args = build_parser().parse_args(lethe_container["args"])  # ENTRYPOINT is `lethe`
    assert args.command == "serve"
    env = {e["name"]: e["value"] for e in lethe_container.get("env", []) if "value" in e}
    assert all(settings_field(name) for name in env if name.startswith("LETHE_"))

    # The pod's file system: ConfigMaps as they render, the policy Secret as docs/deploy.md
    # creates it. Mounted whole (no subPath), so Lethe sees updates and reloads.
    fs = ContainerFS(tmp_path)
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    for mount in lethe_container["volumeMounts"]:
        assert "subPath" not in mount, "subPath mounts never receive updates"
        volume = volumes[mount["name"]]
        directory = PurePosixPath(mount["mountPath"])
        if "configMap" in volume:
            config_map = find(objects, "ConfigMap", volume["configMap"]["name"])
            for key, text in config_map["data"].items():
                fs.write(directory / key, text)
        elif "secret" in volume:
            for key, source in POLICY_FILES[overlay].items():
                fs.add(directory / key, source)
    settings = load_in_container(fs, str(args.config), env, monkeypatch)
    assert settings.server.log_format == "json"
    policy_dir = PurePosixPath(
        next(m["mountPath"] for m in lethe_container["volumeMounts"] if m["name"] == "policy")
    )
    assert settings.unlearning.forget_set == fs.host(policy_dir / "forget-set.yaml")
    assert len(forget_set_of(settings)) > 0
    if target == "embedded":
        assert settings.backend.kind == "llamacpp"
        assert stale_fields(settings) == []
        threads = settings.backend.llamacpp.n_threads or 0
        cpus = float(lethe_container["resources"]["requests"]["cpu"])
        assert threads * settings.backend.llamacpp.pool_size <= cpus
    else:
        assert settings.backend.kind == "openai"
        vllm_service = find(objects, "Service", "vllm")
        port = vllm_service["spec"]["ports"][0]["port"]
        assert settings.backend.upstream.base_url == f"http://vllm:{port}/v1"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_pdb_and_hpa_point_at_lethe(overlay: str) -> None:
    objects = rendered(f"overlays/{overlay}")
    deployment = lethe(objects)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels_match(deployment["spec"]["selector"]["matchLabels"], pod_labels)

    service = find(objects, "Service", "lethe")
    assert labels_match(service["spec"]["selector"], pod_labels)
    port_names = {p["name"] for p in container(deployment, "lethe")["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names

    pdb = find(objects, "PodDisruptionBudget", "lethe")
    assert labels_match(pdb["spec"]["selector"]["matchLabels"], pod_labels)

    hpa = find(objects, "HorizontalPodAutoscaler", "lethe")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        "lethe",
    )
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], "drains must be possible"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_monitor_scrapes_the_lethe_service(overlay: str) -> None:
    objects = rendered(f"overlays/{overlay}")
    monitor = find(objects, "ServiceMonitor", "lethe")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    services = [
        s
        for s in objects
        if s["kind"] == "Service"
        and labels_match(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert [s["metadata"]["name"] for s in services] == ["lethe"]  # job="lethe" in the alerts
    port_names = {p["name"] for p in services[0]["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "scheme"}
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"


def test_prometheus_rule_carries_the_alert_file() -> None:
    objects = rendered("overlays/cpu")
    rule = find(objects, "PrometheusRule", "lethe")
    alerts = yaml.safe_load((REPO / "deploy" / "prometheus" / "alerts.yml").read_text())
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"] == alerts


def test_vllm_has_a_gpu_and_only_lethe_reaches_it() -> None:
    objects = rendered("overlays/gpu-vllm")
    vllm = find(objects, "Deployment", "vllm")
    vllm_container = container(vllm, "vllm")
    assert vllm_container["image"].startswith("vllm/vllm-openai:")
    assert vllm_container["resources"]["limits"]["nvidia.com/gpu"] >= 1
    assert vllm["spec"]["strategy"]["type"] == "Recreate"
    vllm_labels = vllm["spec"]["template"]["metadata"]["labels"]
    vllm_port = {p["name"]: p["containerPort"] for p in vllm_container["ports"]}["http"]
    assert vllm_container["args"][vllm_container["args"].index("--port") + 1] == str(vllm_port)
    assert vllm_container["readinessProbe"]["httpGet"]["path"] == "/health"

    service = find(objects, "Service", "vllm")
    assert labels_match(service["spec"]["selector"], vllm_labels)

    lethe_labels = lethe(objects)["spec"]["template"]["metadata"]["labels"]
    policy = find(objects, "NetworkPolicy", "vllm")
    assert labels_match(policy["spec"]["podSelector"]["matchLabels"], vllm_labels)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    recalibration = find(objects, "CronJob", "lethe-recalibrate")
    job_labels = recalibration["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    (rule,) = policy["spec"]["ingress"]
    # Pods only (no namespace, no CIDR): the server, and the job that calibrates against vLLM.
    assert [set(peer) for peer in rule["from"]] == [{"podSelector"}, {"podSelector"}]
    server_peer, job_peer = (peer["podSelector"]["matchLabels"] for peer in rule["from"])
    assert labels_match(server_peer, lethe_labels)
    assert labels_match(job_peer, job_labels)
    for peer in (server_peer, job_peer):
        assert not labels_match(peer, vllm_labels)
    assert [p["port"] for p in rule["ports"]] == [vllm_port]


def test_cpu_overlay_runs_no_vllm() -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in rendered("overlays/cpu")}
    assert ("Deployment", "vllm") not in kinds


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_docs_create_the_policy_secret(overlay: str) -> None:
    docs = (REPO / "docs" / "deploy.md").read_text()
    assert f"create secret generic {POLICY_SECRET}" in docs
    for key, source in POLICY_FILES[overlay].items():
        assert f"{key}={source.relative_to(REPO)}" in docs


def test_objects_are_not_namespaced_in_git() -> None:
    # `kubectl -n NAMESPACE apply -k` places everything; a namespace here would override it.
    for kustomization in KUSTOMIZATIONS:
        for obj in rendered(kustomization):
            assert "namespace" not in obj["metadata"], obj["metadata"]["name"]
