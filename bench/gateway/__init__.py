"""``python -m bench gateway``: Lethe's cost over a direct upstream, and its own ceiling."""
