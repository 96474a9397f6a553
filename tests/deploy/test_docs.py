"""The deployment and operations guides are linked from the README and link only to things
that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server import __version__
from tests.deploy.container import REPO
from tests.deploy.test_observability import github_anchors

GUIDES = ("docs/deploy.md", "docs/operations.md")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_links_the_guides() -> None:
    readme = (REPO / "README.md").read_text()
    for guide in GUIDES:
        assert f"]({guide})" in readme, guide


@pytest.mark.parametrize("guide", GUIDES)
def test_relative_links_resolve(guide: str) -> None:
    page = REPO / guide
    links = [link for link in _LINK.findall(page.read_text()) if "://" not in link]
    assert links
    for link in links:
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{guide}: {link}"
        assert REPO in path.parents or path == REPO, f"{guide}: {link} leaves the repository"
        if anchor and path.suffix == ".md":
            assert anchor in github_anchors(Path(path).read_text()), f"{guide}: {link}"


def test_deploy_guide_commands_use_real_paths() -> None:
    text = (REPO / "docs" / "deploy.md").read_text()
    for path in re.findall(r"(?:-f|-k|--config|=)\s?(deploy/[\w./-]+)", text):
        assert (REPO / path).exists(), path


@pytest.mark.parametrize(
    "path",
    [
        "Dockerfile",
        "docs/deploy.md",
    ],
)
def test_image_tags_are_the_package_version(path: str) -> None:
    """The version is written once (server.__version__); the build commands in the
    Dockerfile and the guide tag images with it (compose and k8s are checked in their tests)."""
    tags = re.findall(r"(?:lethe:|newTag: )(\d+\.\d+\.\d+)", (REPO / path).read_text())
    assert tags, path
    assert set(tags) == {__version__}, path
