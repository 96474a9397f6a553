"""``python -m bench reliability``: hold under load, backpressure, graceful shutdown."""
