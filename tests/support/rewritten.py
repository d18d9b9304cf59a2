"""pytest's rewriting of the test modules' asserts, done once for a run's workers.

pytest rewrites every ``assert`` of a test module (and of a ``conftest.py``) when it imports it, so that a
failing one shows its values; it keeps what it rewrote in a ``.pyc`` file beside the module, unless Python
writes no bytecode (``PYTHONDONTWRITEBYTECODE``) or the clone is new. Then each pytest-xdist worker
rewrote all of them again at its collection: about 11 of its 19 CPU seconds, on every worker of every run.

:func:`rewrite_once` rewrites them once, in the controller before the workers start, into a folder of
the run's own (the clone gets no bytecode it was not to get), and :func:`read_from` has a worker look
there first: pytest checks each file against its module's source (a hash of it) and rewrites a module
whose file is missing or stale itself, as it always does. Both use pytest's own rewriting, through names
pytest keeps private (``_pytest.assertion.rewrite``): where they are not there (another pytest), nothing
is done and each worker rewrites as before.
"""

from __future__ import annotations

__all__ = ["FOLDER_ENV", "folder_from_environment", "read_from", "rewrite_once"]

import fnmatch
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

FOLDER_ENV = "ARB_TESTS_REWRITTEN"
"""The environment variable naming the folder of rewritten modules (the controller sets it; the workers
it starts inherit it)."""


def _rewrite() -> Any | None:
    # pytest's assert rewriting module, when it has the names used here
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return None
    names = ("_rewrite_test", "_write_pyc_fp", "get_cache_dir", "PYC_TAIL")
    return rewrite if all(hasattr(rewrite, name) for name in names) else None


def rewrite_once(config: pytest.Config, tests: Path) -> Path | None:
    """Rewrite every test module and ``conftest.py`` under folder ``tests`` as pytest would, into a new
    folder (the same relative paths); that folder, or None when pytest's rewriting is not there to use
    (the run does not rewrite asserts: ``--assert=plain``, or another pytest)."""
    rewrite = _rewrite()
    if rewrite is None or config.getoption("assertmode") != "rewrite":
        return None
    patterns = [str(p) for p in config.getini("python_files")]
    folder = Path(tempfile.mkdtemp(prefix="arb-rewritten-"))
    for path in sorted(tests.rglob("*.py")):
        if path.name != "conftest.py" and not any(fnmatch.fnmatch(path.name, p) for p in patterns):
            continue
        source_hash, code = rewrite._rewrite_test(path, config)
        pyc = folder / path.parent.relative_to(tests) / (path.name[:-3] + rewrite.PYC_TAIL)
        pyc.parent.mkdir(parents=True, exist_ok=True)
        with pyc.open("wb") as out:
            rewrite._write_pyc_fp(out, source_hash, code)
    return folder


def read_from(folder: Path, tests: Path) -> None:
    """Have pytest in this process look for the rewritten modules under ``tests`` in ``folder`` (what
    :func:`rewrite_once` wrote), other modules where it always looks."""
    rewrite = _rewrite()
    if rewrite is None:
        return
    usual = rewrite.get_cache_dir

    def cache_dir(file_path: Path) -> Path:
        if file_path.is_relative_to(tests):
            return folder / file_path.parent.relative_to(tests)
        return usual(file_path)  # type: ignore[no-any-return]

    rewrite.get_cache_dir = cache_dir


def folder_from_environment() -> Path | None:
    """The folder the controller named (:data:`FOLDER_ENV`), if any and still there."""
    named = os.environ.get(FOLDER_ENV)
    return Path(named) if named and Path(named).is_dir() else None
