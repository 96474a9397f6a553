"""Placeholder: `lethe bench reliability` is being built (see its issue)."""

from __future__ import annotations

import argparse


def run_reliability(args: argparse.Namespace) -> int:
    raise SystemExit("lethe bench reliability: not implemented yet")
