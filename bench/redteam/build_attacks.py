"""Build the red-team attack set ``attacks.jsonl`` from the TOFU forget10 split.

The rules live in :mod:`calibration.redteam_attacks` (one place, shared with
``lethe bench redteam --data``); see README.md next to this file.

Usage, from the repository root::

    .venv/bin/python deploy/redteam/build_attacks.py [--data ../shared/data/tofu]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.path.insert(0, str(REPO_ROOT))

from calibration.redteam_attacks import AttackBuildError, build_attacks, write_attacks  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "tofu"
DEFAULT_OUT = HERE / "attacks.jsonl"


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
