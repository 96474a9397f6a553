from __future__ import annotations

from pathlib import Path

import pytest

from server import config_doc
from server.config import ConfigError, load_settings


def test_defaults_serve_the_embedded_model_on_loopback() -> None:
    settings = load_settings()
    assert settings.backend.kind == "llamacpp"
    assert settings.backend.llamacpp.model_path is None
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8000)
    assert settings.server.api_keys == []


def test_yaml_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "lethe.yaml"
    path.write_text(
        "server:\n  port: 9100\n  api_keys: [secret]\n"
        "backend:\n  kind: openai\n  upstream:\n    base_url: http://vllm:8000/v1\n"
    )
    settings = load_settings(path)
    assert settings.server.port == 9100
    assert settings.server.api_keys[0].get_secret_value() == "secret"
    assert settings.backend.upstream.base_url == "http://vllm:8000/v1"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lethe.yaml"
    path.write_text("server:\n  port: 9100\n  host: 0.0.0.0\n")
    monkeypatch.setenv("LETHE_SERVER__PORT", "9200")
    settings = load_settings(path)
    assert settings.server.port == 9200
    assert settings.server.host == "0.0.0.0"  # untouched fields keep the file's value


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LETHE_SERVER__API_KEYS", '["hunter2"]')
    monkeypatch.setenv("LETHE_BACKEND__UPSTREAM__API_KEY", "upstream-key")
    settings = load_settings()
    assert settings.server.api_keys[0].get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    assert "upstream-key" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("server: [1, 2\n", "line"),
        ("- a\n- b\n", "mapping"),
        ("server:\n  prot: 1\n", "prot"),
        ("backend:\n  kind: gpu\n", "kind"),
        ("generation:\n  default_max_tokens: 5000\n", "max_tokens_cap"),
    ],
)
def test_bad_files_fail_with_a_pointed_message(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_settings(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml")


def test_configuration_doc_is_current() -> None:
    doc = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert doc.read_text() == config_doc.render(), (
        "docs/configuration.md is stale: python -m server.config_doc > docs/configuration.md"
    )
