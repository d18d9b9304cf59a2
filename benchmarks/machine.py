"""The machine a benchmark ran on, in one line: its CPUs and its load average before and after the run.

Every benchmark prints its figures beside a reference measured in the same run and this line, so that a
slow figure on a busy machine (other processes share the cores) can be told from a slow path. A
benchmark ends in ``run_benchmark(main)``, which takes the load average before ``main`` and prints the
line after it, whichever way ``main`` returned::

    if __name__ == "__main__":
        run_benchmark(main)

Benchmarks run as scripts (``python benchmarks/bench_x.py``), so this folder is ``sys.path[0]`` and they
import it as ``from machine import run_benchmark``.
"""

from __future__ import annotations

__all__ = ["archive_tree", "machine_line", "run_benchmark"]

import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")


def run_benchmark(main: Callable[[], _T]) -> _T:
    """``main()``, then the :func:`machine_line` of the load average before and after it."""
    before = os.getloadavg()
    try:
        return main()
    finally:
        print(machine_line(before, os.getloadavg()), flush=True)


def machine_line(before: tuple[float, float, float], after: tuple[float, float, float]) -> str:
    """``2 CPUs; load average (1, 5, 15 min) before 0.52, 0.60, 0.71; after 0.80, 0.66, 0.72``."""
    before_s, after_s = (", ".join(f"{x:.2f}" for x in load) for load in (before, after))
    return f"{os.cpu_count() or '?'} CPUs; load average (1, 5, 15 min) before {before_s}; after {after_s}"


def archive_tree(root: Path, rev: str, into: Path) -> Path:
    """The tree of commit ``rev`` of the repository at ``root`` (what it tracks: code, configuration, the
    sample), unpacked into ``into/ref``: a reference a benchmark runs beside this tree, each in its own
    processes (``PYTHONPATH`` the tree, so its arb is imported before an installed one)."""
    tar = into / "ref.tar"
    subprocess.run(["git", "-C", str(root), "archive", "--format=tar", "-o", str(tar), rev], check=True)
    tree = into / "ref"
    with tarfile.open(tar) as f:
        f.extractall(tree, filter="data")
    tar.unlink()
    return tree
