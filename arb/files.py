"""Writing a file so that a reader (or a crash) never sees half of it.

Every file arb writes for a person or for a later run (reports, converted days, sweep results, end-of-day
books) goes through :func:`atomic_writer`: the bytes go into a temporary file in the target's folder, are
flushed and synced, and the temporary file is renamed over the target. A crash or Ctrl-C at any instant
leaves either the old file or the new one, never a mixture, and never a temporary file behind.

:class:`Closing` gives an object that holds files or connections open the ``with`` that closes them.
"""

from __future__ import annotations

__all__ = ["Closing", "atomic_writer", "write_atomic"]

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self


@contextlib.contextmanager
def atomic_writer(path: Path, *, sync: bool = True) -> Iterator[BinaryIO]:
    """Open a binary file that becomes ``path`` when the ``with`` block ends without an exception.

    Args:
        path: The file to write; its folder is created if it does not exist.
        sync: ``fsync`` the data before the rename (the default: the file survives a power cut once
            the block has ended). ``False`` is for files that can be made again (caches).

    The new file gets the permissions a plain ``open`` would give it (0666 less the umask). On any
    exception, ``KeyboardInterrupt`` included, the temporary file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    done = False
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def write_atomic(path: Path, data: bytes | str, *, sync: bool = True) -> Path:
    """Write ``data`` (``str`` as UTF-8) to ``path`` through :func:`atomic_writer`; returns ``path``."""
    with atomic_writer(path, sync=sync) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


class Closing:
    """A base for an object whose :meth:`close` releases what it holds: ``with obj:`` returns it and
    closes it on the way out, also after an exception."""

    __slots__ = ()

    def close(self) -> None:
        """Release what the object holds; a subclass says what."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
