"""Numba's on-disk cache, kept honest across source changes.

Numba keys a cached function by the file that defines it: when ``arb/strategies/taker.py`` changes,
the kernel recompiles, but ``arb/live/engine.py``'s ``_decide_step``, which calls it, loads its old
machine code, with the old kernel (and the old risk gate, and old constants) compiled into it. After an
upgrade of an editable install, or a ``git pull``, a dry run would then trade an old gate silently.

So at import, before any compiled function runs, arb compares a fingerprint of its own sources (every
``.py`` file of ``arb`` and ``connectors``: name, size and modification time) with the one saved
beside the cache (with the size and time of hftbacktest's library, which the backtest loop's machine code
calls by symbol name); when they differ it deletes the cached machine code of both packages (``*.nbi``,
``*.nbc`` in their ``__pycache__`` folders), so everything compiles afresh once.

With ``NUMBA_CACHE_DIR`` set (a read-only install: a container image, a service whose code belongs to
root), Numba caches there instead, one folder per source folder (``<name>_<sha1 of its path>``): the
same check keeps a stamp in that folder and deletes the packages' machine code there when the sources
changed. An image whose cache was built with its own sources (``Dockerfile``) keeps it: the stamp
written at the build matches at every start.
"""

from __future__ import annotations

__all__ = ["STAMP_NAME", "cache_dir_folders", "sources_fingerprint", "validate_numba_cache"]

import hashlib
import importlib.util
import os
from pathlib import Path

STAMP_NAME = "numba-sources.stamp"
_PACKAGES = ("arb", "connectors")


def _roots() -> list[Path]:
    top = Path(__file__).resolve().parent.parent
    return [top / name for name in _PACKAGES if (top / name).is_dir()]


def _library_files() -> list[Path]:
    # hftbacktest's compiled library, found without importing hftbacktest (arb's import stays light)
    spec = importlib.util.find_spec("hftbacktest")
    folders = spec.submodule_search_locations if spec is not None else None
    return sorted(path for folder in folders or () for path in Path(folder).glob("_hftbacktest*"))


def sources_fingerprint(roots: list[Path] | None = None) -> str:
    """A digest of every ``.py`` file under ``roots`` (relative name, size, mtime in ns) and of
    hftbacktest's library (name, size, mtime)."""
    digest = hashlib.sha256()
    for path in _library_files():
        st = path.stat()
        digest.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for root in roots if roots is not None else _roots():
        for path in sorted(root.rglob("*.py")):
            st = path.stat()
            digest.update(f"{path.relative_to(root.parent)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_dir_folders(roots: list[Path], cache_dir: Path) -> list[Path]:
    """The folders of ``cache_dir`` (``NUMBA_CACHE_DIR``) where Numba keeps the machine code of the
    functions defined under ``roots``: one per source folder, named as Numba's user-provided cache
    locator names them (the folder's name, ``_``, the SHA-1 of its absolute path)."""
    folders = {path.parent.resolve() for root in roots for path in root.rglob("*.py")}
    return [cache_dir / f"{folder.name}_{hashlib.sha1(str(folder).encode()).hexdigest()}" for folder in sorted(folders)]


def validate_numba_cache(roots: list[Path] | None = None, cache_dir: str | Path | None = None) -> int:
    """Delete the packages' cached machine code if their sources changed since it was written: in their
    ``__pycache__`` folders, and in ``cache_dir`` (default: ``NUMBA_CACHE_DIR``, when set).

    Returns how many cache files were deleted (0 when the fingerprint matched or nothing could be done).
    """
    roots = roots if roots is not None else _roots()
    if not roots:
        return 0
    fingerprint = sources_fingerprint(roots)
    in_tree = [cache for root in roots for cache in root.rglob("__pycache__")]
    deleted = _validate(roots[0] / "__pycache__" / STAMP_NAME, fingerprint, in_tree)
    where = os.environ.get("NUMBA_CACHE_DIR") if cache_dir is None else cache_dir
    if where:
        deleted += _validate(Path(where) / STAMP_NAME, fingerprint, cache_dir_folders(roots, Path(where)))
    return deleted


def _validate(stamp: Path, fingerprint: str, folders: list[Path]) -> int:
    # Delete *.nbi / *.nbc in folders unless stamp holds fingerprint; then write it there
    try:
        if stamp.read_text() == fingerprint:
            return 0
    except OSError:
        pass
    deleted = 0
    for cache in folders:
        if not cache.is_dir():
            continue
        for path in cache.iterdir():
            if path.suffix in (".nbi", ".nbc"):
                try:
                    path.unlink()
                    deleted += 1
                except OSError:
                    pass
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}")
        tmp.write_text(fingerprint)
        tmp.replace(stamp)
    except OSError:  # a read-only install: Numba caches elsewhere or not at all
        pass
    return deleted
