"""Numba's cached machine code goes when arb's sources change (a caller would keep an old callee)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from arb._numba_cache import STAMP_NAME, cache_dir_folders, sources_fingerprint, validate_numba_cache
from tests.support.captures import ROOT, SPOT_BTC_HEAD


def _tree(tmp_path: Path) -> list[Path]:
    roots = [tmp_path / "arb", tmp_path / "connectors"]
    for root in roots:
        (root / "__pycache__").mkdir(parents=True)
        (root / "mod.py").write_text("x = 1\n")
        (root / "__pycache__" / "mod.f-1.py311.nbi").write_bytes(b"index")
        (root / "__pycache__" / "mod.f-1.py311.1.nbc").write_bytes(b"code")
        (root / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"pyc")
    return roots


def test_cached_code_is_kept_while_the_sources_are_the_same_and_dropped_when_one_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without NUMBA_CACHE_DIR: a run of the suite with it set must not stamp its cache with this tree's
    # fingerprint (every arb process after would then delete the whole cache)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    roots = _tree(tmp_path)
    assert validate_numba_cache(roots) == 4  # no stamp yet: unknown provenance, start clean
    assert (roots[0] / "__pycache__" / STAMP_NAME).read_text() == sources_fingerprint(roots)
    for root in roots:  # compiled again
        (root / "__pycache__" / "mod.f-1.py311.nbi").write_bytes(b"index")
    assert validate_numba_cache(roots) == 0
    assert all((root / "__pycache__" / "mod.f-1.py311.nbi").exists() for root in roots)

    callee = roots[1] / "mod.py"  # another file than the caller's
    callee.write_text("x = 2\n")
    st = callee.stat()
    os.utime(callee, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert validate_numba_cache(roots) == 2
    assert not any(p.suffix in (".nbi", ".nbc") for root in roots for p in (root / "__pycache__").iterdir())
    assert all((root / "__pycache__" / "mod.cpython-311.pyc").exists() for root in roots)  # Python's own stay


def test_the_installed_packages_stamp_matches_their_sources() -> None:
    import arb

    roots = [Path(arb.__file__).resolve().parent, Path(arb.__file__).resolve().parent.parent / "connectors"]
    stamp = roots[0] / "__pycache__" / STAMP_NAME
    if stamp.exists():  # written at import (absent only on a read-only install)
        assert stamp.read_text() == sources_fingerprint(roots)


def test_a_compilation_is_announced_once_and_never_when_the_code_is_ready(caplog) -> None:
    import logging

    from arb._jit import njit, say_compiling

    @njit(cache=False)
    def add_one(x: int) -> int:
        return x + 1

    log = logging.getLogger("arb.test")
    shown: list[str] = []
    parts = [("a test function", [add_one], 3.0)]
    with caplog.at_level(logging.INFO, logger="arb.test"):
        said = say_compiling(parts, log, shown.append)
        assert said == (
            "compiling a test function: once after an install or update, about 3 s (later runs load it from "
            "Numba's cache)"
        )
        assert shown == [said] and [r.getMessage() for r in caplog.records] == [said]
        assert say_compiling(parts, log) is None  # said once per process
        assert add_one(1) == 2  # compiled now
        assert say_compiling([("the same function, named again", [add_one], 3.0)], log) is None  # ready: nothing
    assert len(caplog.records) == 1


@pytest.mark.parametrize(("local_offset_ns", "said"), [(0, False), (None, True)])
def test_a_conversion_says_the_converter_compiles_only_when_a_function_it_calls_will(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, local_offset_ns, said
) -> None:
    # Once, every backtest said "compiling the converter": the local times' shift, which only a conversion
    # finding the shift itself calls (arb convert; the backtest's loader gives it, 0), never reached Numba's
    # cache on the backtest's path. Here the shift alone is not cached, all else is.
    import logging

    import arb._jit
    from arb.recording import corrections
    from arb.recording.convert import convert_to_parts

    monkeypatch.setattr(arb._jit, "_said", set())
    monkeypatch.setattr(arb._jit, "cached", lambda fn: fn is not corrections._shift_local)
    with caplog.at_level(logging.INFO):
        convert_to_parts([SPOT_BTC_HEAD], tmp_path / "x.npz", local_offset_ns=local_offset_ns, scan=False, merge=False)
    compiling = [r.getMessage() for r in caplog.records if r.getMessage().startswith("compiling ")]
    assert compiling == (
        ["compiling the converter: once after an install or update, about 5 s (later runs load it from Numba's cache)"]
        if said
        else []
    )


def test_a_numba_cache_dir_is_kept_while_the_sources_are_the_same_and_dropped_when_one_changes(tmp_path: Path) -> None:
    # NUMBA_CACHE_DIR: Numba's folder per source folder; a container image's cache built with its sources
    from numba.core.caching import UserProvidedCacheLocator

    roots = _tree(tmp_path / "src")
    cache_dir = tmp_path / "numba-cache"
    folders = cache_dir_folders(roots, cache_dir)
    for root, folder in zip(roots, folders, strict=True):  # named as Numba names them
        assert folder.name == UserProvidedCacheLocator.get_suitable_cache_subpath(str(root / "mod.py"))
    assert validate_numba_cache(roots, cache_dir) == 4  # the in-tree files: no stamp yet
    for folder in folders:  # the image's build compiles into the cache dir
        folder.mkdir(parents=True)
        (folder / "mod.f-1.py311.nbi").write_bytes(b"index")
        (folder / "mod.f-1.py311.1.nbc").write_bytes(b"code")
    (cache_dir / "other_0123").mkdir()
    (cache_dir / "other_0123" / "numpy.f-1.py311.nbi").write_bytes(b"not ours")
    assert validate_numba_cache(roots, cache_dir) == 0  # the first run in the container keeps it
    assert (cache_dir / STAMP_NAME).read_text() == sources_fingerprint(roots)

    callee = roots[1] / "mod.py"
    st = callee.stat()
    os.utime(callee, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert validate_numba_cache(roots, cache_dir) == 4  # an upgrade: ours go, in both places
    assert not any(any(folder.iterdir()) for folder in folders)
    assert (cache_dir / "other_0123" / "numpy.f-1.py311.nbi").exists()  # another package's stay


_LOCKED_MODULE = "from arb._jit import njit\n\n\n@njit(cache=True)\ndef add_one(x):\n    return x + 1\n"


async def test_a_process_waits_for_anothers_compilation_and_then_loads_its_machine_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This process holds the compile lock of a cached function (as it would while compiling it) when a
    # child reaches its first call: the child must wait, then find this process's machine code in the
    # cache (a hit, no compilation of its own). Without the lock it compiles at once (a miss), long
    # before this process, which compiles only once the child says it is about to call, has written it.
    import importlib.util
    import sys

    from arb._jit import _compiling
    from arb.testing.waiting import Patience, communicate, read_until

    (tmp_path / "locked_mod.py").write_text(_LOCKED_MODULE)
    spec = importlib.util.spec_from_file_location("locked_mod", tmp_path / "locked_mod.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "locked_mod", module)  # importable by name, as the child imports it
    spec.loader.exec_module(module)
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import locked_mod; print('calling', flush=True); "
        "locked_mod.add_one(1); s = locked_mod.add_one.stats; "
        "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))"
    )
    with _compiling(module.add_one):
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        await read_until(child.stdout, b"calling", Patience("the child to import", quiet_s=60, pids=[child.pid]))
        assert module.add_one(1) == 2  # compiled and written to the cache under the lock
    out, err = await communicate(child, Patience("the child to end", quiet_s=60, pids=[child.pid]))
    assert child.returncode == 0, err.decode()
    assert out.decode().split() == ["1", "0"]  # loaded, not compiled
    assert sum(module.add_one.stats.cache_misses.values()) == 1
