"""``python -m bench unlearning``: Lethe against five baselines, on one backend, at CPU scale."""
