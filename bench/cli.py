"""Benchmarks behind ``lethe bench``; each suite writes its own section of docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse


def run_bench(args: argparse.Namespace) -> int:
    """Entry point of ``lethe bench SUITE [--output PATH] [--quick]``."""
    if args.suite == "gateway":
        from server.bench.gateway import run_gateway

        return run_gateway(args.output, quick=args.quick)
    if args.suite == "guarantee":
        from server.bench.guarantee import run_guarantee

        return run_guarantee(args.output, quick=args.quick)
    if args.suite == "unlearning":
        from server.bench.unlearning import run_unlearning

        return run_unlearning(args)
    if args.suite == "reliability":
        from server.bench.reliability import run_reliability

        return run_reliability(args)
    if args.suite == "redteam":
        from server.bench.redteam import run_redteam

        return run_redteam(args)
    raise ValueError(f"unknown benchmark suite {args.suite!r}")
