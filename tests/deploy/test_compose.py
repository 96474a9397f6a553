"""deploy/compose.yaml, read without Docker: profiles, images, mounts, environment and ports
agree with the Dockerfile, Lethe's settings schema and the Prometheus/Grafana files."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from server import __version__
from server.cli import build_parser
from server.config import Settings
from tests.deploy.container import (
    REPO,
    ContainerFS,
    forget_set_of,
    load_in_container,
    settings_field,
    stale_fields,
)
from tests.deploy.dockerfile import parse
from tests.deploy.test_dockerfile import command_line, image_fs, runtime_env

DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
VERSION = __version__


def interpolate(value: Any) -> Any:
    """Compose variable substitution with an empty environment: ``${X:-default}`` gives the
    default, ``${X}`` the empty string, ``$$`` a dollar sign."""
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, str):
        text = re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", value)
        assert not re.search(r"\$(?!\$)\w", text.replace("$$", "")), f"bare variable: {value}"
        return text.replace("$$", "$")
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = interpolate(yaml.safe_load(COMPOSE.read_text()))
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any], profile: str) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if profile in s.get("profiles", [])}


def lethe_service(compose: dict[str, Any], profile: str) -> tuple[str, dict[str, Any]]:
    built = {n: s for n, s in services(compose, profile).items() if "build" in s}
    assert len(built) == 1, f"profile {profile}: one Lethe service, not {sorted(built)}"
    return next(iter(built.items()))


def binds(service: dict[str, Any]) -> list[tuple[Path, PurePosixPath]]:
    """Bind mounts (host path relative to the compose file); named volumes are left out."""
    out = []
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            out.append(((COMPOSE.parent / source).resolve(), PurePosixPath(target)))
    return out


def container_fs(service: dict[str, Any], root: Path) -> ContainerFS:
    """The image's files plus the service's bind mounts."""
    dockerfile = parse(REPO / "Dockerfile")
    fs = image_fs(dockerfile, dockerfile.stage(service["build"]["target"]), root)
    for source, target in binds(service):
        fs.add(target, source)
    return fs


def environment(service: dict[str, Any]) -> dict[str, str]:
    dockerfile = parse(REPO / "Dockerfile")
    env = runtime_env(dockerfile, dockerfile.stage(service["build"]["target"]))
    env.update({k: str(v) for k, v in service.get("environment", {}).items()})
    return env


def serve_args(service: dict[str, Any]) -> list[str]:
    dockerfile = parse(REPO / "Dockerfile")
    argv = command_line(dockerfile, dockerfile.stage(service["build"]["target"]))
    return argv[1:] if "command" not in service else list(service["command"])


def published(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """``ip:host:container`` port strings as (ip, host port, container port)."""
    out = []
    for port in service.get("ports", []):
        ip, host, container = str(port).split(":")
        out.append((ip, int(host), int(container)))
    return out


def settings_of(
    service: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    fs = container_fs(service, tmp_path)
    config = build_parser().parse_args(serve_args(service)).config
    return load_in_container(fs, str(config), environment(service), monkeypatch)


def test_profiles(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert set(service.get("profiles", [])) <= {"cpu", "gpu"}, name
        assert service.get("profiles"), f"{name} would start in every profile"
    assert set(services(compose, "cpu")) == {"lethe-cpu", "prometheus", "grafana"}
    assert set(services(compose, "gpu")) == {"vllm", "lethe-gateway", "prometheus", "grafana"}


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image, f"{name}: {image}"
        assert not image.endswith(":latest"), f"{name}: {image}"


@pytest.mark.parametrize(("profile", "target"), [("cpu", "embedded"), ("gpu", "gateway")])
def test_lethe_is_built_from_the_dockerfile(
    compose: dict[str, Any], profile: str, target: str
) -> None:
    _, service = lethe_service(compose, profile)
    assert (COMPOSE.parent / service["build"]["context"]).resolve() == REPO
    assert service["build"]["target"] == target
    parse(REPO / "Dockerfile").stage(target)
    suffix = "" if target == "embedded" else f"-{target}"
    assert service["image"] == f"lethe:{VERSION}{suffix}"
    assert "lethe" in service["networks"]["default"]["aliases"]  # Prometheus' target


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_lethe_is_locked_down(compose: dict[str, Any], profile: str) -> None:
    _, service = lethe_service(compose, profile)
    assert service["read_only"] is True
    assert "/tmp" in service["tmpfs"]
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]


def test_every_lethe_variable_is_a_setting(compose: dict[str, Any]) -> None:
    names = [n for s in compose["services"].values() for n in s.get("environment", {})]
    lethe = [n for n in names if n.startswith("LETHE_")]
    assert lethe
    for name in lethe:
        assert settings_field(name), f"{name} is not a Lethe setting"


def test_bind_mount_sources_exist(compose: dict[str, Any]) -> None:
    mounts = [m for s in compose["services"].values() for m in binds(s)]
    assert len(mounts) >= 6
    for source, _ in mounts:
        assert source.exists(), source
        assert REPO in source.parents, f"{source} is outside the repository"


def test_cpu_profile_serves_the_demo_with_a_current_artifact(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, service = lethe_service(compose, "cpu")
    settings = settings_of(service, tmp_path, monkeypatch)
    assert settings.backend.kind == "llamacpp"
    assert settings.server.log_format == "json"
    stale = stale_fields(settings)
    assert stale == []
    assert [(ip, c) for ip, _, c in published(service)] == [("127.0.0.1", settings.server.port)]


def test_gpu_profile_guards_vllm(
    compose: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, service = lethe_service(compose, "gpu")
    settings = settings_of(service, tmp_path, monkeypatch)
    assert settings.backend.kind == "openai"
    assert len(forget_set_of(settings)) > 0
    assert [(ip, c) for ip, _, c in published(service)] == [("127.0.0.1", settings.server.port)]

    upstream = re.fullmatch(r"http://([\w-]+):(\d+)/v1", settings.backend.upstream.base_url)
    assert upstream is not None
    host, port = upstream.group(1), int(upstream.group(2))
    vllm = compose["services"][host]
    assert "gpu" in vllm["profiles"]
    assert vllm["image"].startswith("vllm/vllm-openai:")
    assert port == 8000  # vLLM's default --port
    assert all(c == port for _, _, c in published(vllm))
    assert service["depends_on"][host]["condition"] == "service_healthy"
    assert "/health" in " ".join(vllm["healthcheck"]["test"])
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "--model" in vllm["command"]


def test_gpu_config_loads_as_it_is_in_the_repository() -> None:
    from server.config import load_settings

    settings = load_settings(DEPLOY / "compose" / "lethe-vllm.yaml")
    assert settings.backend.kind == "openai"
    assert settings.unlearning.artifact is None  # none is calibrated for the vLLM model


def test_prometheus_scrapes_lethe_and_loads_the_alerts(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    service = compose["services"]["prometheus"]
    fs = ContainerFS(tmp_path)
    for source, target in binds(service):
        fs.add(target, source)
    config = yaml.safe_load(fs.host("/etc/prometheus/prometheus.yml").read_text())
    for rule_file in config["rule_files"]:
        assert fs.host(rule_file).resolve() == DEPLOY / "prometheus" / "alerts.yml"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    (targets,) = [group["targets"] for group in jobs["lethe"]["static_configs"]]
    assert targets == ["lethe:8000"]  # the alias both Lethe services carry, on server.port
    assert jobs["vllm"]["dns_sd_configs"][0]["names"] == ["vllm"]


def test_grafana_provisions_the_datasource_and_dashboard(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    service = compose["services"]["grafana"]
    fs = ContainerFS(tmp_path)
    for source, target in binds(service):
        fs.add(target, source)
    provisioning = fs.host("/etc/grafana/provisioning")
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert any(c == 9090 for _, _, c in published(compose["services"]["prometheus"]))
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "lethe.yaml").read_text())[
        "providers"
    ]
    dashboards = fs.host(provider["options"]["path"])
    assert (dashboards / "lethe.json").resolve() == DEPLOY / "grafana" / "dashboards" / "lethe.json"
    assert fs.exists(service["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
