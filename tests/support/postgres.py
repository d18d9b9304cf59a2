"""A real PostgreSQL server for the tests, started from the distribution's packages.

The server runs from a temporary data folder on a free loopback port and is stopped at the end of
the session. As root (CI), PostgreSQL refuses to run as root, so it runs as the ``postgres`` user the
Debian package creates. Without server binaries the tests that need it skip, unless
``ARB_REQUIRE_POSTGRES=1`` (``.ci/run`` sets it), where they fail.
"""

from __future__ import annotations

__all__ = ["PostgresServer", "postgres_server"]

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

_names = itertools.count(1)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One running server; :meth:`new_database` gives each test its own database."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8")  # fmt: skip
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "server.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"arb_test_{os.getpid()}_{next(_names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer | str]:
    """A started server in a folder of its own (removed after), or the reason there is none (a string)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        yield "no PostgreSQL server binaries (apt-get install postgresql)"
        return
    # a folder the postgres user can reach (pytest's own tmp folders are root's, mode 700)
    folder = Path(tempfile.mkdtemp(prefix="arb-postgres-"))
    try:
        yield from _serve(bin_dir, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _serve(bin_dir: Path, folder: Path) -> Iterator[PostgresServer | str]:
    server = PostgresServer(bin_dir, folder)
    try:
        server.start()
    except (subprocess.SubprocessError, OSError, KeyError) as error:
        detail = getattr(error, "stderr", b"") or b""
        log = folder / "server.log"
        tail = log.read_text()[-500:] if log.exists() else ""
        server.stop()
        yield f"PostgreSQL did not start: {error} {detail.decode(errors='replace')[-300:]} {tail}"
        return
    try:
        yield server
    finally:
        server.stop()
