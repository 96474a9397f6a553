"""Files written whole or not at all: a reader polling one (a server watching its artifact,
a calibration run resuming a dataset) never sees half of it."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str, mode: int = 0o666) -> None:
    """``text`` to a temporary file beside ``path`` (created with ``mode``, less the umask,
    so a private file is private from its first byte), then ``os.replace`` onto ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
