"""What Numba compiles while a block runs: the qualified names of the functions, from its compile event."""

from __future__ import annotations

__all__ = ["compiled_names"]

import contextlib
from collections.abc import Iterator
from typing import Any


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
