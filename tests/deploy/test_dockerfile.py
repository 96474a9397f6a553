"""The Dockerfile, read without a Docker engine: what it copies exists and reaches the build
context, both targets run a real ``lethe`` command as a non-root user, and the health check
works."""

from __future__ import annotations

import http.server
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from server.cli import build_parser
from tests.deploy.container import (
    REPO,
    ContainerFS,
    forget_set_of,
    load_in_container,
    settings_field,
    stale_fields,
)
from tests.deploy.dockerfile import (
    Dockerfile,
    DockerIgnore,
    Stage,
    copy_sources_and_dest,
    env_of,
    parse,
)

TARGETS = ("embedded", "gateway")


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(REPO / "Dockerfile")


def runtime_env(dockerfile: Dockerfile, stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in dockerfile.all(stage, "ENV"):
        env.update(env_of(instruction))
    return env


def command_line(dockerfile: Dockerfile, stage: Stage) -> list[str]:
    entrypoint = dockerfile.effective(stage, "ENTRYPOINT")
    cmd = dockerfile.effective(stage, "CMD")
    assert entrypoint is not None
    assert cmd is not None
    return entrypoint.exec_form() + cmd.exec_form()


def image_fs(dockerfile: Dockerfile, stage: Stage, root: Path) -> ContainerFS:
    """The repository files a runtime stage copies, where the image has them."""
    fs = ContainerFS(root)
    workdir = PurePosixPath("/")
    for link in reversed(dockerfile.chain(stage)):
        for instruction in link.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = workdir / instruction.args
            elif instruction.keyword == "COPY" and "from" not in instruction.flags:
                sources, dest = copy_sources_and_dest(instruction)
                assert len(sources) == 1, "one source per COPY keeps the destination obvious"
                fs.add(workdir / dest, REPO / sources[0])
    return fs


def test_stages_and_targets(dockerfile: Dockerfile) -> None:
    names = [stage.name for stage in dockerfile.stages]
    assert len(names) == len(set(names))
    assert names[-1] == "embedded", "the default target (last stage) is the embedded model"
    assert "gateway" in names
    for target in TARGETS:
        assert dockerfile.image(dockerfile.stage(target)) == "python:3.11-slim"


def test_python_of_the_image_satisfies_the_project(dockerfile: Dockerfile) -> None:
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    image = dockerfile.image(dockerfile.stages[-1])
    assert requires == ">=3.11"
    assert image.startswith("python:3.11")


def test_copy_sources_exist_and_are_in_the_build_context(dockerfile: Dockerfile) -> None:
    ignore = DockerIgnore((REPO / ".dockerignore").read_text())
    stage_names = {stage.name for stage in dockerfile.stages}
    copied = 0
    for stage in dockerfile.stages:
        for instruction in stage.instructions:
            if instruction.keyword != "COPY":
                continue
            if "from" in instruction.flags:
                assert instruction.flags["from"] in stage_names
                continue
            for source in copy_sources_and_dest(instruction)[0]:
                path = REPO / source
                assert path.exists(), f"COPY {source}: no such file"
                files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
                files = [f for f in files if "__pycache__" not in f.parts]
                assert files
                for file in files:
                    relative = file.relative_to(REPO).as_posix()
                    assert not ignore.excluded(relative), f"{relative} is .dockerignored"
                    copied += 1
    assert copied > 20


def test_dockerignore_keeps_local_state_out() -> None:
    ignore = DockerIgnore((REPO / ".dockerignore").read_text())
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/server/test_app.py",
        "server/__pycache__/cli.cpython-311.pyc",
        ".lethe-cache/calibrate/x",
        "deploy/calibration/tofu-test.jsonl",
    ):
        assert ignore.excluded(path), path
    assert not ignore.excluded("server/cli.py")


@pytest.mark.parametrize("target", TARGETS)
def test_runs_as_a_numeric_non_root_user(dockerfile: Dockerfile, target: str) -> None:
    user = dockerfile.effective(dockerfile.stage(target), "USER")
    assert user is not None
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit()  # numeric: runAsNonRoot can check it
    assert gid.isdigit()
    assert int(uid) != 0
    assert int(gid) != 0


@pytest.mark.parametrize("target", TARGETS)
def test_command_is_a_real_lethe_serve(dockerfile: Dockerfile, target: str) -> None:
    argv = command_line(dockerfile, dockerfile.stage(target))
    assert argv[0] == "lethe"
    args = build_parser().parse_args(argv[1:])  # exits (fails the test) on a bad option
    assert args.command == "serve"
    assert args.config is not None


@pytest.mark.parametrize("target", TARGETS)
def test_environment_names_real_settings(dockerfile: Dockerfile, target: str) -> None:
    env = runtime_env(dockerfile, dockerfile.stage(target))
    lethe = {name for name in env if name.startswith("LETHE_")}
    assert lethe, "the server must bind 0.0.0.0 in a container"
    assert all(settings_field(name) for name in lethe)
    assert env["LETHE_SERVER__HOST"] == "0.0.0.0"
    assert env["PATH"].startswith("/opt/venv/bin:")


def test_embedded_image_serves_the_demo_with_a_current_artifact(
    dockerfile: Dockerfile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = dockerfile.stage("embedded")
    fs = image_fs(dockerfile, stage, tmp_path)
    config = build_parser().parse_args(command_line(dockerfile, stage)[1:]).config
    settings = load_in_container(fs, str(config), runtime_env(dockerfile, stage), monkeypatch)
    assert settings.backend.kind == "llamacpp"
    assert settings.server.host == "0.0.0.0"
    assert len(forget_set_of(settings)) > 0
    stale = stale_fields(settings)
    assert stale == []


def test_gateway_expects_a_mounted_config(dockerfile: Dockerfile, tmp_path: Path) -> None:
    stage = dockerfile.stage("gateway")
    config = build_parser().parse_args(command_line(dockerfile, stage)[1:]).config
    # Not in the image: compose and Kubernetes mount it (tests in test_compose, test_k8s).
    assert not image_fs(dockerfile, stage, tmp_path).exists(str(config))
    assert str(config) == "/etc/lethe/lethe.yaml"


def builder_of(dockerfile: Dockerfile, target: str) -> Stage:
    copies = [i for i in dockerfile.all(dockerfile.stage(target), "COPY") if "from" in i.flags]
    assert [copy_sources_and_dest(i) for i in copies] == [(["/opt/venv"], "/opt/venv")]
    return dockerfile.stage(copies[0].flags["from"])


def test_embedded_builder_compiles_llama_cpp_like_the_makefile(dockerfile: Dockerfile) -> None:
    builder = builder_of(dockerfile, "embedded")
    installs = [i.args for i in dockerfile.all(builder, "RUN") if "pip install" in i.args]
    assert installs
    assert '"/src[embedded]"' in installs[-1]
    arg = next(i for i in dockerfile.all(builder, "ARG") if i.args.startswith("CMAKE_ARGS="))
    makefile = (REPO / "Makefile").read_text()
    make_default = next(
        line.partition("?=")[2].strip()
        for line in makefile.splitlines()
        if line.startswith("CMAKE_ARGS ?=")
    )
    assert shlex.split(arg.args.partition("=")[2]) == [make_default]


def test_gateway_builder_leaves_the_model_out(dockerfile: Dockerfile) -> None:
    builder = builder_of(dockerfile, "gateway")
    installs = [i.args for i in dockerfile.all(builder, "RUN") if "pip install" in i.args]
    assert installs
    assert all("embedded" not in args for args in installs)
    assert all("build-essential" not in i.args for i in dockerfile.all(builder, "RUN"))


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
@pytest.mark.e2e
def test_healthcheck_probes_health_on_the_configured_port(
    dockerfile: Dockerfile,
    health_server: http.server.HTTPServer,
    target: str,
    status: int,
    healthy: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check = dockerfile.effective(dockerfile.stage(target), "HEALTHCHECK")
    assert check is not None
    argv = check.exec_form()
    assert argv[:2] == ["python", "-c"]
    assert "/health" in argv[2]
    monkeypatch.setattr(_Health, "status", status)
    port = str(health_server.server_address[1])
    result = subprocess.run(
        [sys.executable, *argv[1:]],
        env={"LETHE_SERVER__PORT": port},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode == 0) is healthy, result.stderr
