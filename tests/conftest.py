"""Fixtures shared across the test folders: the journal's databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, postgres_server


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


@pytest.fixture(scope="session")
def two_symbols(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recordings of BTCUSDT and ETHUSDT on both venues, 2024-08-08 (see ``tests/support/two_symbols.py``)."""
    from tests.support.two_symbols import two_symbol_recordings

    return two_symbol_recordings(tmp_path_factory.mktemp("two-symbols"))
