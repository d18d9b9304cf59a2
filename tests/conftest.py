"""Fixtures shared across the test folders: the journal's databases; and, for the workers of a run on
several processes, Numba's cache warmed once (``tests/support/warm_numba.py``) and the test modules'
asserts rewritten once (``tests/support/rewritten.py``)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, postgres_server
from tests.support.rewritten import FOLDER_ENV, folder_from_environment, read_from, rewrite_once
from tests.support.warm_numba import RECORD_ENV

TESTS = Path(__file__).parent

# Reports leave their charts out (``ARB_CHARTS``, docs/reports.md): drawing equity.png was about half the CPU of each
# short backtest or dry run a test starts, over a hundred of them. The tests of the chart turn it back on
# (``charts`` below); the workers and every ``arb`` child inherit the setting.
os.environ.setdefault("ARB_CHARTS", "0")

if (_rewritten := folder_from_environment()) is not None:  # a worker: the controller rewrote the modules
    read_from(_rewritten, TESTS)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (skips, or fails under ARB_REQUIRE_POSTGRES=1, without one)."""
    with postgres_server() as server:
        if isinstance(server, str):
            if os.environ.get("ARB_REQUIRE_POSTGRES") == "1":
                pytest.fail(server)
            pytest.skip(server)
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh journal location: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "journal.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports draw equity.png in this test (and the ``arb`` children it starts)."""
    monkeypatch.setenv("ARB_CHARTS", "1")


@pytest.fixture(scope="session")
def two_symbols(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recordings of BTCUSDT and ETHUSDT on both venues, 2024-08-08 (see ``tests/support/two_symbols.py``),
    generated once for the run's workers (``tests/support/shared.py``)."""
    from tests.support.shared import made_once
    from tests.support.two_symbols import two_symbol_recordings

    return made_once(tmp_path_factory, "two-symbols", two_symbol_recordings)


_WARM_LOCK = "ARB_TESTS_NUMBA_WARM_LOCK"
"""The environment variable naming the lock file the warm-up child holds while it compiles: the controller
sets it before pytest-xdist starts the workers, which inherit it."""


def pytest_sessionstart(session: pytest.Session) -> None:
    """In the controller of a run on two or more workers (pytest-xdist), start the Numba warm-up child:
    it compiles the kernel, the backtest loop and the live engine's step into the cache once, while the
    workers start and collect; each worker waits for it before its first test (``_numba_warm``), so no
    two of them compile the same machine code. Skipped without compilation (``NUMBA_DISABLE_JIT``).
    Beside it, rewrite the test modules' asserts for the workers (``tests/support/rewritten.py``)."""
    config = session.config
    if hasattr(config, "workerinput") or (getattr(config.option, "numprocesses", None) or 0) < 2:
        return
    if os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0"):
        _start_warm_up(config)
    rewritten = rewrite_once(config, TESTS)  # beside the warm-up, before the workers start
    if rewritten is not None:
        os.environ[FOLDER_ENV] = str(rewritten)


def _start_warm_up(config: pytest.Config) -> None:
    # The Numba warm-up child (pytest_sessionstart), its lock and log in a folder of its own
    root = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="arb-numba-warm-"))
    lock, log = folder / "lock", folder / "log"
    os.environ[RECORD_ENV] = str(folder / "record.json")  # what its backtest saw, for the workers
    fd = os.open(lock, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # held by the child (its copy of fd) until it exits, however it ends
    try:
        with log.open("wb") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "tests.support.warm_numba"],
                cwd=root,
                env={**os.environ, "PYTHONPATH": str(root)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(fd,),
                start_new_session=True,  # its group: it and the processes it starts end together
            )
    finally:
        os.close(fd)
    os.environ[_WARM_LOCK] = str(lock)
    config.stash[_warm_key] = (child, log)


_warm_key = pytest.StashKey[tuple["subprocess.Popen[bytes]", Path]]()


@pytest.fixture(scope="session", autouse=True)
def _numba_warm() -> None:
    """A worker's first test waits until the controller's warm-up child has exited (its lock is free)."""
    lock = os.environ.get(_WARM_LOCK)
    if not lock:
        return
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:  # the controller has cleaned up: the warm-up is long over
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The warm-up's time and exit code (and its output when it failed: the tests then compiled on their own)."""
    warm = config.stash.get(_warm_key, None)
    if warm is None:
        return
    child, log = warm
    code = child.wait()
    os.environ.pop(_WARM_LOCK, None)
    lines = log.read_text(errors="replace").strip().splitlines()
    terminalreporter.write_line(f"numba warm-up child: exit {code}; {lines[-1] if lines else 'no output'}")
    if code != 0:
        terminalreporter.write_line("\n".join(lines[-40:]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The ``arb`` fork servers this process started for its tests end with its session."""
    forks = sys.modules.get("tests.support.arb_forks")
    if forks is not None:
        forks.close_shared()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The warm-up child ends with the run (a run interrupted early does not leave it compiling); the
    rewritten modules go."""
    rewritten = os.environ.pop(FOLDER_ENV, None) if not hasattr(config, "workerinput") else None
    if rewritten is not None:
        shutil.rmtree(rewritten, ignore_errors=True)
    warm = config.stash.get(_warm_key, None)
    if warm is None:
        return
    child, log = warm
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    os.environ.pop(RECORD_ENV, None)
    log.unlink(missing_ok=True)
    (log.parent / "lock").unlink(missing_ok=True)
    (log.parent / "record.json").unlink(missing_ok=True)
    log.parent.rmdir()
