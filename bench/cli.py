"""``python -m bench SUITE``: run one benchmark suite; it rewrites its section of
docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from server.config import ConfigError

SUITES = (
    "gateway",
    "verifiers",
    "guarantee",
    "unlearning",
    "reliability",
    "redteam",
    "shapes",
    "targets",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", choices=SUITES, help="Which benchmark to run.")
    parser.add_argument("--output", type=Path, default=Path("docs/BENCHMARKS.md"))
    parser.add_argument("--quick", action="store_true", help="A short smoke run.")
    parser.add_argument(
        "--data", type=Path, help="TOFU data directory (default ../shared/data/tofu)."
    )
    parser.add_argument(
        "--backend-url",
        help="Run against this OpenAI-compatible upstream (e.g. a `vllm serve` URL ending in "
        "/v1) instead of the embedded model (unlearning, redteam).",
    )
    return parser


def run_bench(args: argparse.Namespace) -> int:
    """Dispatch to the suite; each is imported only when it runs (some load models)."""
    if args.suite == "verifiers":
        from bench.paths import TOFU
        from bench.verifiers.run import run_verifier_bench

        return run_verifier_bench(args.output, args.data or TOFU, args.quick)
    if args.suite == "gateway":
        from bench.gateway.run import run_gateway

        return run_gateway(args.output, quick=args.quick)
    if args.suite == "guarantee":
        from bench.guarantee import run_guarantee

        return run_guarantee(args.output, quick=args.quick)
    if args.suite == "unlearning":
        from bench.unlearning.run import run_unlearning

        return run_unlearning(args)
    if args.suite == "reliability":
        from bench.reliability.run import run_reliability

        return run_reliability(args)
    if args.suite == "shapes":
        from bench.shapes import main as run_shapes

        return run_shapes(args)
    if args.suite == "targets":
        from bench.targets import run_targets_bench

        return run_targets_bench(args)
    if args.suite == "redteam":
        from bench.redteam.run import run_redteam

        return run_redteam(args)
    raise ValueError(f"unknown benchmark suite {args.suite!r}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_bench(args)
    except ConfigError as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return 2
