"""What Numba compiles: the qualified names of the functions compiled while a block runs (from its compile
event), and a script run in a new process over a module of compiled functions with a Numba cache of its
own (what a later process loads, compiles again or refuses)."""

from __future__ import annotations

__all__ = ["compiled_names", "last_words"]

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.captures import ROOT


@contextlib.contextmanager
def compiled_names() -> Iterator[list[str]]:
    """Yield a list that gets the ``__qualname__`` of every function Numba compiles inside the block (its
    overloads' implementations included), in the order they finish."""
    from numba.core import event

    names: list[str] = []

    class Names(event.Listener):  # type: ignore[misc]  # numba is untyped
        def on_start(self, ev: Any) -> None:
            pass

        def on_end(self, ev: Any) -> None:
            names.append(getattr(getattr(ev.data["dispatcher"], "py_func", None), "__qualname__", "?"))

    with event.install_listener("numba:compile", Names()):
        yield names


def last_words(folder: Path, module: str, script: str) -> list[str]:
    """The words of the last line ``script`` prints, run in a new process that first imports NumPy as
    ``np``, ``sys`` and the module ``module`` in ``folder`` as ``m``, with ``folder / "numba"`` as its Numba
    cache (shared by the calls on one folder); the process must exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, numpy as np, {module} as m\n" + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}", "NUMBA_CACHE_DIR": str(folder / "numba")},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1].split()
