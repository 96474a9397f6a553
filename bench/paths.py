"""Where the benchmarks find the checkout: they run from a source tree, never from a wheel."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data"
TOFU = REPO.parent / "shared" / "data" / "tofu"  # the default --data directory
DEMO_CONFIG = REPO / "deploy" / "demo.yaml"
DEMO_FORGET_SET = REPO / "deploy" / "forget-sets" / "tofu-forget10.yaml"
CACHE = REPO / ".lethe-cache"
