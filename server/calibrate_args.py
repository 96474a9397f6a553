"""``lethe calibrate``'s options for the record cache, progress and incremental runs
(:mod:`server.incremental`), kept apart so that building the parser imports nothing heavy."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_calibrate_arguments(calibrate: argparse.ArgumentParser) -> None:
    """``lethe calibrate``'s options for the cache, progress and incremental runs."""
    calibrate.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(".lethe-cache/calibrate"),
        help="Recorded queries, per group: a re-run with the same groups recomputes nothing.",
    )
    calibrate.add_argument(
        "--pushgateway", help="Push progress and the outcome to this Prometheus Pushgateway."
    )
    incremental = calibrate.add_argument_group(
        "incremental", "Recalibrate for the forget set served now (docs/operations.md)."
    )
    incremental.add_argument(
        "--incremental",
        action="store_true",
        help="Add the served targets --dataset lacks as a new group, then recalibrate.",
    )
    incremental.add_argument(
        "--publish",
        action="store_true",
        help="Publish the artifact to unlearning.store: every server installs it.",
    )
    incremental.add_argument("--tenant", help="A tenant's targets instead of the global ones.")
    incremental.add_argument(
        "--base-dataset",
        type=Path,
        help="Copied to --dataset on the first run (e.g. the image's TOFU proxy dataset).",
    )
    incremental.add_argument(
        "--general", type=Path, help="JSONL of {question, answer} for the new traffic."
    )
