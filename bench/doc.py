"""docs/BENCHMARKS.md: one file, one section per ``python -m bench`` suite, rewritten in place."""

from __future__ import annotations

import platform
from pathlib import Path

FILE_HEADER = (
    "# Benchmarks\n\n"
    "Measured numbers, each section written by one `python -m bench <suite>` run "
    "(`make bench` runs them all). Do not edit a section by hand: rerun its command.\n"
)


def write_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between the ``name`` markers of ``path``, keeping everything else."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else FILE_HEADER
    start, stop = text.find(begin), text.find(end)
    if start != -1 and stop > start:
        text = text[:start] + block + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
