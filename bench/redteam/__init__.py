"""``python -m bench redteam``: extraction attacks on the demo forget set, raw model vs Lethe."""
