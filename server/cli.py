"""The ``lethe`` command line."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import get_args

from calibration.artifact import Strategy
from calibration.builder import Plan
from calibration.certify import DEFAULT_FORGET_EPSILON, CalibrateOptions
from server.calibrate_args import add_calibrate_arguments
from server.config import ConfigError, Settings, load_settings
from server.logs import configure_logging

GRACEFUL_SHUTDOWN_SECONDS = 30
"""After SIGTERM, how long in-flight requests may take to finish before they are cancelled."""


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    """SIGTERM while uvicorn is not handling it: exit with status 0, an orderly stop.

    uvicorn drains in-flight requests on SIGTERM, then re-raises the signal so the previous
    handler runs; with the default one the process would die of the signal (status -15).
    """
    raise SystemExit(0)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    settings = load_settings(args.config or _demo_config())
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(
            update={"server": settings.server.model_copy(update=overrides)}
        )
    configure_logging(settings.server)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        log_config=None,  # keep the handlers configure_logging installed
        access_log=False,  # Lethe logs its own access line, with request id and decision
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0


def _demo_config() -> Path | None:
    """Without --config, a source checkout serves the TOFU demo (deploy/demo.yaml)."""
    demo = Path(__file__).resolve().parents[1] / "deploy" / "demo.yaml"
    if demo.exists():
        print(f"lethe: no --config given; using the demo configuration {demo}", file=sys.stderr)
        return demo
    return None


def _bench(args: argparse.Namespace) -> int:
    """The benchmarks live in the source checkout's ``bench`` package, not in the wheel."""
    print(
        "lethe: benchmarks run from a source checkout: python -m bench <suite> (make bench)",
        file=sys.stderr,
    )
    return 2


def _targets(args: argparse.Namespace) -> int:
    from server.targets_cli import TargetsOptions, run_targets

    settings = load_settings(args.config or _demo_config())
    options = TargetsOptions(
        action=args.action,
        tenant=args.tenant,
        files=tuple(getattr(args, "files", ())),
        ids=tuple(getattr(args, "ids", ())),
        replace=getattr(args, "replace", False),
        url=args.url,
        as_json=getattr(args, "json", False),
        out=getattr(args, "out", None),
    )
    return run_targets(settings, options, sys.stdout, sys.stdin)


def _add_targets_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    targets = commands.add_parser(
        "targets",
        help="Add, remove or list forget targets live (the store in --config, or a server).",
    )
    actions = targets.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="YAML settings with unlearning.store.")
    common.add_argument("--tenant", help="A tenant's targets instead of the global ones.")
    common.add_argument(
        "--url",
        help="Go through this server's /admin/targets (admin key in LETHE_ADMIN_KEY) "
        "instead of opening the store.",
    )
    add = actions.add_parser(
        "add", parents=[common], help="Add targets from files (one target, or a forget set)."
    )
    add.add_argument("files", type=Path, nargs="+", help="YAML or JSON files; - for stdin.")
    add.add_argument(
        "--replace", action="store_true", help="Replace a target whose id exists (PUT)."
    )
    remove = actions.add_parser("remove", parents=[common], help="Remove targets by id.")
    remove.add_argument("ids", nargs="+", help="Target ids.")
    listing = actions.add_parser(
        "list", parents=[common], help="List ids, counts and dates (never facts)."
    )
    listing.add_argument("--json", action="store_true", help="One JSON object per line.")
    export = actions.add_parser(
        "export",
        parents=[common],
        help="Write the targets, facts included, as a forget-set file (for build-dataset).",
    )
    export.add_argument("--out", type=Path, help="File to write (mode 600); default stdout.")
    targets.set_defaults(handler=_targets)


def _verify(args: argparse.Namespace) -> int:
    from server.verify_cli import run_verify

    if args.input == Path("-"):
        return run_verify(args.config, sys.stdin, sys.stdout)
    with args.input.open(encoding="utf-8") as source:
        return run_verify(args.config, source, sys.stdout)


def _calibrate(args: argparse.Namespace) -> int:
    from calibration.builder import BuildError
    from calibration.dataset import DatasetError
    from calibration.ltt import SampleSizeError
    from server.calibrate_cli import CalibrateOptions, run_calibrate
    from server.progress import CalibrationProgress

    settings = load_settings(args.config or _demo_config())
    options = CalibrateOptions(
        queries=args.queries,
        dataset=args.dataset,
        artifact=args.artifact,
        report=args.report,
        epsilon=args.epsilon,
        forget_epsilon=args.forget_epsilon,
        delta=args.delta,
        max_budget=args.max_budget,
        candidates=args.candidates,
        strategies=tuple(dict.fromkeys(args.strategy)),
        concurrency=args.concurrency,
        cache_dir=args.cache_dir,
    )
    try:
        if args.incremental:
            return _incremental(settings, options, args)
        if args.publish:
            raise ConfigError("--publish goes with --incremental (or: lethe artifacts publish)")
        return run_calibrate(settings, options, CalibrationProgress(args.pushgateway))
    except (SampleSizeError, DatasetError, BuildError) as exc:  # too few targets, bad data
        print(f"lethe: {exc}", file=sys.stderr)
        return 2


def _incremental(settings: Settings, options: CalibrateOptions, args: argparse.Namespace) -> int:
    from server.incremental import IncrementOptions, run_incremental
    from server.store_cli import scope_of

    increment = IncrementOptions(
        scope=scope_of(settings, args.tenant),
        base_dataset=args.base_dataset,
        general=args.general,
        publish=args.publish,
        pushgateway=args.pushgateway,
    )
    return run_incremental(settings, options, increment)


def _artifacts(args: argparse.Namespace) -> int:
    from server.artifacts_cli import ArtifactsOptions, run_artifacts

    settings = load_settings(args.config or _demo_config())
    options = ArtifactsOptions(
        action=args.action,
        tenant=args.tenant,
        file=getattr(args, "file", None),
        as_json=getattr(args, "json", False),
    )
    return run_artifacts(settings, options, sys.stdout)


def _add_artifacts_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    artifacts = commands.add_parser(
        "artifacts",
        help="Publish calibration artifacts to the store every server reads, or list them.",
    )
    actions = artifacts.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="YAML settings with unlearning.store.")
    common.add_argument("--tenant", help="A tenant's artifact instead of the global one.")
    publish = actions.add_parser(
        "publish",
        parents=[common],
        help="Make an artifact the active one (every server installs it, no restart).",
    )
    publish.add_argument("file", type=Path, help="The artifact (lethe calibrate --artifact).")
    listing = actions.add_parser(
        "list", parents=[common], help="Each scope's active artifact: ids and dates."
    )
    listing.add_argument("--json", action="store_true", help="One JSON object per line.")
    artifacts.set_defaults(handler=_artifacts)


def _plan(args: argparse.Namespace) -> Plan:
    return Plan(forget=args.forget, mixed=args.mixed, overlap=args.overlap, plain=args.plain)


def _build_dataset(args: argparse.Namespace) -> int:
    if args.tofu is not None:
        return _build_tofu(args)
    from calibration.builder import BuildError, build_dataset, read_general, subjects_of
    from verifiers.forgetset import ForgetSetError, load_forget_set

    try:
        forget_set = load_forget_set(args.forget_set)
        retain = subjects_of(load_forget_set(args.retain).targets) if args.retain else []
        general = read_general(args.general) if args.general else []
        count = build_dataset(
            forget_set, retain, general, args.out, args.target_kind, _plan(args), args.seed
        )
    except (ForgetSetError, BuildError, OSError, ValueError, KeyError) as exc:
        print(f"lethe: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {count} queries about {len(forget_set)} targets to {args.out}")
    return 0


def _build_tofu(args: argparse.Namespace) -> int:
    from calibration.dataset import build_tofu_split, write_queries
    from calibration.tofu import ProxyOptions, build_proxy_datasets

    if args.legacy_split:
        split = build_tofu_split(args.tofu, seed=args.seed)
        write_queries(split.calibration, args.out / "tofu-calibration.jsonl")
        write_queries(split.test, args.out / "tofu-test.jsonl")
        print(f"wrote {len(split.calibration)} + {len(split.test)} queries to {args.out}")
        return 0
    options = ProxyOptions(
        sets=args.sets, size=args.size, test_sets=args.test_sets, plan=_plan(args), seed=args.seed
    )
    for name, count in build_proxy_datasets(args.tofu, args.out, options).items():
        print(f"wrote {count} queries to {args.out / name}")
    return 0


def _dataset_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dataset = commands.add_parser(
        "build-dataset",
        help="Write calibration traffic for a forget set (or TOFU proxy targets) as a dataset.",
    )
    source = dataset.add_mutually_exclusive_group(required=True)
    source.add_argument("--forget-set", type=Path, help="Forget set (.yaml/.jsonl) to forget.")
    source.add_argument(
        "--tofu", type=Path, help="TOFU data directory: proxy-target calibration and test sets."
    )
    dataset.add_argument("--out", type=Path, required=True, help="Output directory.")
    dataset.add_argument(
        "--retain", type=Path, help="Forget-set file of subjects for mixed/unrelated questions."
    )
    dataset.add_argument("--general", type=Path, help="JSONL of {question, answer}.")
    dataset.add_argument("--target-kind", default="person", help="What the targets are.")
    dataset.add_argument("--seed", type=int, default=0)
    for name, default, what in (
        ("forget", 3, "forget-related questions"),
        ("mixed", 1, "mixed questions"),
        ("overlap", 1, "unrelated questions sharing words with the facts"),
        ("plain", 1, "plain unrelated questions"),
    ):
        dataset.add_argument(f"--{name}", type=int, default=default, help=f"{what} per target.")
    dataset.add_argument("--sets", type=int, default=8, help="TOFU: calibration forget sets.")
    dataset.add_argument("--size", type=int, default=15, help="TOFU: targets per forget set.")
    dataset.add_argument("--test-sets", type=int, default=2, help="TOFU: held-out forget sets.")
    dataset.add_argument(
        "--legacy-split", action="store_true", help="TOFU: the old per-author query files."
    )
    dataset.set_defaults(handler=_build_dataset)


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

    calibrate = commands.add_parser(
        "calibrate", help="Record the loop on calibration traffic and certify over targets (LTT)."
    )
    calibrate.add_argument("--config", type=Path, help="YAML settings (default: the demo).")
    traffic = calibrate.add_mutually_exclusive_group(required=True)
    traffic.add_argument("--dataset", type=Path, help="Dataset directory (lethe build-dataset).")
    traffic.add_argument(
        "--queries", type=Path, help="Query JSONL, checked against the configured forget set."
    )
    calibrate.add_argument(
        "--artifact", type=Path, required=True, help="Where to write the artifact."
    )
    calibrate.add_argument("--report", type=Path, required=True, help="Markdown report (+ PNG).")
    calibrate.add_argument("--epsilon", type=float, default=0.05, help="Marginal risk level ε.")
    calibrate.add_argument(
        "--forget-epsilon",
        type=float,
        default=DEFAULT_FORGET_EPSILON,
        help="Forget-side risk level ε_f (leaks among forget-related queries).",
    )
    calibrate.add_argument("--delta", type=float, default=0.05, help="1 - confidence δ.")
    calibrate.add_argument("--max-budget", type=int, default=3, help="Largest K on the grid.")
    calibrate.add_argument("--candidates", type=int, default=2, help="k candidates per round.")
    calibrate.add_argument(
        "--strategy",
        nargs="+",
        choices=list(get_args(Strategy)),
        default=["reprompt"],
        help="Refinement strategies calibrated together (the first also answers K = 0); "
        "the artifact names the one chosen.",
    )
    calibrate.add_argument("--concurrency", type=int, default=2, help="Queries in flight.")
    add_calibrate_arguments(calibrate)
    calibrate.set_defaults(handler=_calibrate)

    _dataset_parser(commands)

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

    _add_targets_parser(commands)
    _add_artifacts_parser(commands)

    bench = commands.add_parser(
        "bench", help="Benchmarks moved: python -m bench <suite>, from a source checkout."
    )
    bench.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:  # the guard's GuardStartError included
        print(f"lethe: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
