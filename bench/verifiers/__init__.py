"""``python -m bench verifiers``: how well and how fast the verifier tiers separate leaks."""
