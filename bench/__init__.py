"""Lethe's benchmarks: ``python -m bench <suite>`` (``make bench`` runs them all).

Each suite writes its own section of docs/BENCHMARKS.md. This package lives in the source
checkout only (it reads ``bench/data`` and ``deploy/``) and is never shipped in the wheel;
it imports the product (``server``, ``calibration``, ``verifiers``), never the other way.
"""
