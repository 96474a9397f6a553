"""Build the red-team attack set ``attacks.jsonl`` from the TOFU forget10 split.

The rules live in :mod:`bench.redteam.attacks` (one place, shared with
``python -m bench redteam --data``); see bench/data/redteam/README.md.

Usage, from the repository root::

    .venv/bin/python -m bench.redteam.build_attacks [--data ../shared/data/tofu]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from bench.paths import DATA, TOFU
from bench.redteam.attacks import AttackBuildError, build_attacks, write_attacks

DEFAULT_DATA = TOFU
DEFAULT_OUT = DATA / "redteam" / "attacks.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TOFU data directory")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSONL file")
    args = parser.parse_args(argv)
    try:
        attacks = build_attacks(args.data)
    except (OSError, ValueError, KeyError, AttackBuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_attacks(attacks, args.out)
    families = Counter(a.family for a in attacks)
    print(f"wrote {args.out} ({len(attacks)} attacks, {len(families)} families)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
