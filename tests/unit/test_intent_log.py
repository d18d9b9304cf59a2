"""The intent log: intents stored with a memory store, kept across a crash, committed by the journal's next
flush (or at the next open), and never counted twice or half."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arb.journal import Journal
from arb.journal.intent_log import LOG_BYTES, IntentLog, IntentLogError

SMALL = 4096


def _committed(url: str) -> list[str]:
    # The client ids the journal holds, read through a journal of its own (a journal's reads flush its queue)
    with Journal.open(url) as reader:
        return [row["client_id"] for row in reader.intents()]


def _intent(n: int, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "client_id": f"arb-test-{n}-0", "account": "main", "run_id": "test", "venue": "bybit", "market": "spot",
        "symbol": "BTCUSDT", "side": 1, "order_type": "limit", "time_in_force": "ioc", "price": "60000.1",
        "qty": "0.001", "reduce_only": False, "kind": 1, "pair_id": n, "state": "pending", "intent_ns": 1_000 + n,
    }  # fmt: skip
    row.update(extra)
    return row


def test_records_are_kept_in_the_file_and_a_restart_drops_them(tmp_path: Path) -> None:
    path = tmp_path / "main.intents"
    log = IntentLog(path)
    assert path.stat().st_size == LOG_BYTES and log.records() == [] and log.generation == 1
    assert log.append(_intent(1)) and log.append(_intent(2))
    log.close()
    again = IntentLog(path)
    assert again.records() == [_intent(1), _intent(2)] and len(again) == 2
    again.append(_intent(3))  # after the records the file held
    assert [r["pair_id"] for r in again.records()] == [1, 2, 3]
    again.restart()
    assert again.records() == [] and again.generation == 2
    again.append(_intent(4))  # written over the old records: only the new one counts
    again.close()
    assert IntentLog(path).records() == [_intent(4)]


def test_a_full_log_refuses_an_append_and_keeps_what_it_has(tmp_path: Path) -> None:
    log = IntentLog(tmp_path / "main.intents", size=SMALL)
    stored = 0
    while log.append(_intent(stored)):
        stored += 1
    assert 8 <= stored < 20 and len(log.records()) == stored
    log.restart()
    assert log.append(_intent(99))


def test_a_record_whose_header_was_never_written_does_not_count(tmp_path: Path) -> None:
    # A process killed between storing an intent's payload and its header: the order was not sent yet,
    # and the log must not show it.
    path = tmp_path / "main.intents"
    log = IntentLog(path, size=SMALL)
    log.append(_intent(1))
    offset = log._offset
    log._map[offset + 8 : offset + 40] = b"x" * 32  # a payload with no header
    log.close()
    again = IntentLog(path, size=SMALL)
    assert [r["pair_id"] for r in again.records()] == [1] and again.damaged_at is None


def test_a_damaged_record_ends_the_log_there(tmp_path: Path) -> None:
    path = tmp_path / "main.intents"
    log = IntentLog(path, size=SMALL)
    log.append(_intent(0))
    second = log._offset
    log.append(_intent(1))
    log.append(_intent(2))
    log._map[second + 8 + 5] ^= 0xFF  # a byte of the second record's payload
    log.close()
    again = IntentLog(path, size=SMALL)
    assert again.records() == [_intent(0)] and again.damaged_at == second


@pytest.mark.parametrize(
    ("content", "message"), [(b"x" * 100, "expected 4096"), (b"NOTALOG!" + bytes(SMALL - 8), "not an intent log")]
)
def test_a_file_that_is_not_a_log_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "main.intents"
    path.write_bytes(content)
    with pytest.raises(IntentLogError, match=message):
        IntentLog(path, size=SMALL)


def test_what_a_killed_process_stored_is_in_the_file(tmp_path: Path) -> None:
    # The mapping's pages belong to the kernel's page cache: SIGKILL loses nothing already stored.
    path = tmp_path / "main.intents"
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from arb.journal.intent_log import IntentLog\n"
        f"log = IntentLog(Path({str(path)!r}))\n"
        "log.append({'client_id': 'arb-killed-1-0', 'pair_id': 1})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2], timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    assert IntentLog(path).records() == [{"client_id": "arb-killed-1-0", "pair_id": 1}]


def test_the_journal_commits_logged_intents_with_its_next_flush(tmp_path: Path, journal_url: str) -> None:
    db = journal_url
    with Journal.open(db, synchronous="normal") as journal:
        log = IntentLog(tmp_path / "main.intents")
        assert journal.attach_intent_log(log) == 0
        journal.add_intent(_intent(1))
        assert _committed(db) == [] and len(log) == 1  # in the log only, until the flush
        journal.flush()
        assert _committed(db) == ["arb-test-1-0"] and len(log) == 0


def test_at_open_the_journal_commits_what_the_log_holds_and_it_lacks(tmp_path: Path, journal_url: str) -> None:
    # A process stopped after logging intents 2 and 3 but before the flush that commits them; intent 1
    # was committed before (a crash between the commit and the log's restart leaves it in both).
    log = IntentLog(tmp_path / "main.intents")
    for n in (1, 2, 3):
        log.append(_intent(n))
    log.close()
    with Journal.open(journal_url, synchronous="normal") as journal:
        journal.add_intent(_intent(1))
    with Journal.open(journal_url, synchronous="normal") as journal:
        assert journal.attach_intent_log(IntentLog(tmp_path / "main.intents")) == 2
        assert [r["client_id"] for r in journal.intents()] == [f"arb-test-{n}-0" for n in (1, 2, 3)]
        assert all(r["state"] == "pending" for r in journal.intents())
    assert IntentLog(tmp_path / "main.intents").records() == []  # restarted: nothing to commit twice


def test_a_full_log_falls_back_to_committing_at_once(tmp_path: Path) -> None:
    db = str(tmp_path / "main.sqlite")
    with Journal.open(db, synchronous="normal") as journal:
        log = IntentLog(tmp_path / "main.intents", size=SMALL)
        journal.attach_intent_log(log)
        n = 0
        while not _committed(db):
            journal.add_intent(_intent(n))
            n += 1
        assert len(log) == n - 1 and _committed(db) == [f"arb-test-{n - 1}-0"]
        journal.flush()
        assert len(_committed(db)) == n and len(log) == 0


def test_the_shipped_journal_keeps_an_intent_in_the_log_not_a_database_write_on_the_orders_path(
    tmp_path: Path,
) -> None:
    # [live] as shipped: SQLite "normal" with the intent log; an intent recorded before its order is sent is
    # in the log (what survives a crash of arb) and reaches the database only with the flush after the send
    from arb.config import LiveConfig, load_config
    from arb.execution.journaling import open_execution_journal

    shipped = load_config(Path(__file__).resolve().parents[2] / "config" / "arbitrage.toml").live
    assert (shipped.journal_synchronous, shipped.intent_log) == ("normal", True) == (
        LiveConfig().journal_synchronous, LiveConfig().intent_log)  # fmt: skip
    journal = open_execution_journal(LiveConfig(state_dir=tmp_path))
    try:
        journal.journal.add_intent(_intent(1))
        assert [r["client_id"] for r in IntentLog(tmp_path / "main.intents").records()] == ["arb-test-1-0"]
        assert _committed(str(tmp_path / "main.sqlite")) == []  # not yet in the database
        journal.flush()
        assert _committed(str(tmp_path / "main.sqlite")) == ["arb-test-1-0"]
    finally:
        journal.close()


def test_with_the_log_a_client_id_the_journal_holds_is_refused_before_its_order_goes(tmp_path: Path) -> None:
    # the log commits an intent after its order was sent: a client id the journal already holds (a run id
    # reused) must be refused when it is logged, as a commit would refuse it; a new id of that run is logged
    from arb.journal.journal import DuplicateIntentError

    url = str(tmp_path / "main.sqlite")
    with Journal.open(url) as journal:
        journal.add_intent(_intent(1))
    with Journal.open(url, synchronous="normal") as journal:
        journal.attach_intent_log(IntentLog(tmp_path / "main.intents"))
        with pytest.raises(DuplicateIntentError, match="arb-test-1-0"):
            journal.add_intent(_intent(1))
        journal.add_intent(_intent(2))
        assert [r["client_id"] for r in IntentLog(tmp_path / "main.intents").records()] == ["arb-test-2-0"]
    assert _committed(url) == ["arb-test-1-0", "arb-test-2-0"]


def test_a_run_asked_about_at_start_up_logs_its_first_intent_without_a_query(tmp_path: Path) -> None:
    # whether the journal holds intents of the run is asked at start-up (the venue executor's start), not
    # by the run's first order: on this machine that query put 2 ms between a pair's two intents
    import sqlalchemy as sa

    url = str(tmp_path / "main.sqlite")
    with Journal.open(url, synchronous="normal") as journal:
        journal.attach_intent_log(IntentLog(tmp_path / "main.intents"))
        statements: list[str] = []
        sa.event.listen(journal.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        assert journal.expect_run("test") is True and len(statements) == 1  # asked now, once
        journal.add_intent(_intent(1))
        journal.add_intent(_intent(2))
        assert len(statements) == 1  # the orders' path asked nothing
    assert _committed(url) == ["arb-test-1-0", "arb-test-2-0"]
