"""The ``lethe`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from server.config import ConfigError, Settings, load_settings
from server.guard import GuardConfigError
from server.policy import StaleArtifactError


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    settings = load_settings(args.config)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(
            update={"server": settings.server.model_copy(update=overrides)}
        )
    _configure_logging(settings)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        timeout_graceful_shutdown=30,
    )
    return 0


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _bench(args: argparse.Namespace) -> int:
    if args.suite == "verifiers":
        from calibration.verifier_bench import default_data_dir, run_verifier_bench

        return run_verifier_bench(args.output, args.data or default_data_dir(), args.quick)
    from server.bench import run_bench

    return run_bench(args)


def _verify(args: argparse.Namespace) -> int:
    from server.verify_cli import run_verify

    if args.input == Path("-"):
        return run_verify(args.config, sys.stdin, sys.stdout)
    with args.input.open(encoding="utf-8") as source:
        return run_verify(args.config, source, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lethe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="Run the OpenAI-compatible server.")
    serve.add_argument(
        "--config", type=Path, help="YAML settings file (see docs/configuration.md)."
    )
    serve.add_argument("--host", help="Override server.host.")
    serve.add_argument("--port", type=int, help="Override server.port.")
    serve.set_defaults(handler=_serve)

    verify = commands.add_parser(
        "verify", help="Score answers (JSONL) against the configured forget set, offline."
    )
    verify.add_argument("--config", type=Path, help="YAML settings with unlearning.forget_set.")
    verify.add_argument(
        "--input",
        type=Path,
        required=True,
        help="JSONL of {messages|question, response}; - for stdin.",
    )
    verify.set_defaults(handler=_verify)

    bench = commands.add_parser("bench", help="Run benchmarks; results go to docs/BENCHMARKS.md.")
    bench.add_argument("suite", choices=["gateway", "verifiers"], help="Which benchmark to run.")
    bench.add_argument("--output", type=Path, default=Path("docs/BENCHMARKS.md"))
    bench.add_argument("--quick", action="store_true", help="A short smoke run.")
    bench.add_argument(
        "--data", type=Path, help="TOFU data directory (default ../shared/data/tofu)."
    )
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except (ConfigError, GuardConfigError, StaleArtifactError) as exc:
        print(f"lethe: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
