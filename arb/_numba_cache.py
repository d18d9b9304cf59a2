"""Numba's on-disk cache, kept honest across source changes.

Numba keys a cached function by the file that defines it: when ``arb/strategy/kernel.py`` changes,
the kernel recompiles, but ``arb/runtime/engine.py``'s ``_decide_step``, which calls it, loads its old
machine code, with the old kernel (and the old risk gate, and old constants) compiled into it. After an
upgrade of an editable install, or a ``git pull``, a dry run would then trade an old gate silently.

So at import, before any compiled function runs, arb compares a fingerprint of its own sources (every
``.py`` file of ``arb`` and ``connectors``: name, size and modification time) with the one saved
beside the cache; when they differ it deletes the cached machine code of both packages (``*.nbi``,
``*.nbc`` in their ``__pycache__`` folders), so everything compiles afresh once. A read-only install
(Numba then caches elsewhere, or not at all) is left alone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["STAMP_NAME", "sources_fingerprint", "validate_numba_cache"]

STAMP_NAME = "numba-sources.stamp"
_PACKAGES = ("arb", "connectors")


def _roots() -> list[Path]:
    top = Path(__file__).resolve().parent.parent
    return [top / name for name in _PACKAGES if (top / name).is_dir()]


def sources_fingerprint(roots: list[Path] | None = None) -> str:
    """A digest of every ``.py`` file under ``roots`` (relative name, size, mtime in ns)."""
    digest = hashlib.sha256()
    for root in roots if roots is not None else _roots():
        for path in sorted(root.rglob("*.py")):
            st = path.stat()
            digest.update(f"{path.relative_to(root.parent)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def validate_numba_cache(roots: list[Path] | None = None) -> int:
    """Delete the packages' cached machine code if their sources changed since it was written.

    Returns how many cache files were deleted (0 when the fingerprint matched or nothing could be done).
    """
    roots = roots if roots is not None else _roots()
    if not roots:
        return 0
    stamp = roots[0] / "__pycache__" / STAMP_NAME
    fingerprint = sources_fingerprint(roots)
    try:
        if stamp.read_text() == fingerprint:
            return 0
    except OSError:
        pass
    deleted = 0
    for root in roots:
        for cache in root.rglob("__pycache__"):
            for path in cache.iterdir():
                if path.suffix in (".nbi", ".nbc"):
                    try:
                        path.unlink()
                        deleted += 1
                    except OSError:
                        pass
    try:
        stamp.parent.mkdir(exist_ok=True)
        tmp = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}")
        tmp.write_text(fingerprint)
        tmp.replace(stamp)
    except OSError:  # a read-only install: Numba caches elsewhere or not at all
        pass
    return deleted
