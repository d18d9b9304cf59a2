"""Expensive test inputs made once per run, not once per pytest-xdist worker.

A session- or module-scoped fixture is per process: with the suite on several workers, each worker that
runs one of its tests makes it again (the same recordings generated, the same dry run replayed, up to
four times over). :func:`made_once` makes a folder once for the whole run, in the temporary folder all
the workers of the run share; the first worker to ask makes it while the others wait on its lock.
"""

from __future__ import annotations

__all__ = ["made_once"]

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """The folder ``name`` of this run, filled by ``make(folder)`` by the first process that asks (the
    others wait for it and get the same folder). A ``make`` that raised is tried again by the next one to
    ask, so each asking test fails or passes on its own. Its contents are read-only by contract: every
    worker's tests read them."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own (popen-gwN)
    folder = base / f"shared-{name}"
    with (base / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / ".made"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder
