"""Lethe's server: the OpenAI-compatible HTTP API, the unlearning loop and its backends."""

__version__ = "0.1.0"
"""The one place the version is written (pyproject.toml reads it; image tags are checked)."""
