"""Placeholder: `lethe bench unlearning` is being built (see its issue)."""

from __future__ import annotations

import argparse


def run_unlearning(args: argparse.Namespace) -> int:
    raise SystemExit("lethe bench unlearning: not implemented yet")
