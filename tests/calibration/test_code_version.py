from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import calibration
from calibration import reference_judge
from calibration.code_version import code_version, source_files


def _module(path: Path, source: str) -> ModuleType:
    path.write_text(source, encoding="utf-8")
    module = ModuleType("m")  # one name: only the code differs
    module.__file__ = str(path)
    return module


def test_comments_docstrings_and_formatting_do_not_change_the_version(tmp_path: Path) -> None:
    plain = _module(tmp_path / "a.py", "def f(x):\n    return x + 1\n")
    noted = _module(
        tmp_path / "b.py",
        '"""Module."""\n\ndef f(x):  # why\n    """Add one."""\n    return (x\n        + 1)\n',
    )
    changed = _module(tmp_path / "c.py", "def f(x):\n    return x + 2\n")
    assert code_version([plain]) == code_version([noted])
    assert code_version([plain]) != code_version([changed])


def test_a_package_counts_every_file() -> None:
    files = [name for name, _ in source_files(calibration)]
    assert "calibration/reference_judge.py" in files
    assert "calibration/ltt.py" in files
    assert code_version([calibration]) != code_version([reference_judge])
    assert code_version([reference_judge]) == code_version([sys.modules[reference_judge.__name__]])
