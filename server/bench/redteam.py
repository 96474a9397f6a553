"""Placeholder: `lethe bench redteam` is being built (see its issue)."""

from __future__ import annotations

import argparse


def run_redteam(args: argparse.Namespace) -> int:
    raise SystemExit("lethe bench redteam: not implemented yet")
