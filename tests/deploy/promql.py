"""Metric names: the ones Lethe exports (from its real registry) and the ones a PromQL
expression uses."""

from __future__ import annotations

import re

from server.metrics import Metrics

# Series prometheus_client writes for one metric family of each type.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# Series Prometheus itself adds to every target.
PROMETHEUS_SERIES = frozenset({"up"})


def exported_families() -> dict[str, str]:
    """Family name -> type, from a fresh Lethe registry."""
    return {family.name: family.type for family in Metrics().registry.collect()}


def exported_series() -> set[str]:
    """Every series name Lethe's /metrics can show (a labelled family with no children yet
    shows none, so the names come from each family's type, as the exposition writes them)."""
    return {
        name + suffix for name, kind in exported_families().items() for suffix in _SUFFIXES[kind]
    }


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}
)


def metric_names(expr: str) -> set[str]:
    """Metric names selected in a PromQL expression (Grafana variables allowed)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    names: set[str] = set()
    for match in _IDENT.finditer(text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function call
        if match.group().lower() not in _KEYWORDS:
            names.add(match.group())
    return names
