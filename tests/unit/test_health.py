"""Health for a supervisor: what ``/healthz`` and ``/readyz`` answer for a snapshot, over HTTP from a real
ops server, and what ``arb status`` prints and exits with against it (ready, not ready, nothing there).

The dry run's own life (starting, synced, a stale venue, halted) is in
``tests/integration/test_health_dry_run.py``; a real ``arb live`` in ``tests/integration/test_deploy_live.py``."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from arb.cli import main
from arb.errors import EXIT_NOT_RUNNING
from arb.ops import health
from arb.ops.address import Address, write_address
from arb.ops.server import OpsServer
from arb.ops.snapshot import BookState, FeedHealth, OpsHub, Snapshot, SymbolState, VenueLimits
from arb.ops.status import describe, ops_url
from arb.testing.configs import write_config_files

S = 1_000_000_000
NOW = 1_700_000_000 * S
MAX_AGE = 10 * S


def _feed(venue: str, **changes: object) -> FeedHealth:
    values: dict[str, object] = {
        "venue": venue, "market": "spot", "symbol": "BTCUSDT", "connected": True, "synced": True, "stale": False,
        "endpoint": "ws://127.0.0.1:1/stream", "last_message_ns": NOW - S, "messages": 10, "gaps": 0, "resyncs": 0,
        "reconnects": 0, "decode_errors": 0,
    }  # fmt: skip
    values.update(changes)
    return FeedHealth(**values)  # type: ignore[arg-type]


def _snapshot(*, age_ns: int = 0, books: tuple[str, str] = ("ok", "ok"), **changes: object) -> Snapshot:
    values: dict[str, object] = {
        "mode": "live", "symbol": "BTCUSDT", "quote_currency": "USDT", "ts_ns": NOW - age_ns, "wall_ns": NOW - age_ns,
        "feeds": (_feed("binance"), _feed("bybit")), "started_wall_ns": NOW - 3600 * S, "journal": "ok",
        "books": (BookState("binance", "BTCUSDT", books[0]), BookState("bybit", "BTCUSDT", books[1])),
    }  # fmt: skip
    values.update(changes)
    return Snapshot(**values)  # type: ignore[arg-type]


def test_before_the_first_snapshot_neither_alive_nor_ready() -> None:
    h = health.assess(None, NOW, MAX_AGE)
    assert (h.alive, h.ready, h.status, h.healthz_code, h.readyz_code) == (False, False, "starting", 503, 503)
    assert h.reasons and "first snapshot" in h.reasons[0]


def test_a_fresh_snapshot_with_synced_books_an_open_journal_and_no_halt_is_ready() -> None:
    h = health.assess(_snapshot(age_ns=S // 2), NOW, MAX_AGE)
    assert (h.alive, h.ready, h.status, h.reasons) == (True, True, "ready", ())
    assert h.body["mode"] == "live" and h.body["journal"] == "ok" and h.body["snapshot_age_s"] == 0.5
    assert h.body["started"].endswith("Z") and h.body["uptime_s"] == 3600.0
    assert [b["state"] for b in h.body["books"]] == ["ok", "ok"]
    json.dumps(h.body, allow_nan=False)


def test_a_snapshot_older_than_the_bound_is_stalled_and_not_ready() -> None:
    h = health.assess(_snapshot(age_ns=MAX_AGE + 1), NOW, MAX_AGE)
    assert (h.alive, h.ready, h.status) == (False, False, "stalled")
    assert "published nothing for 10.0 s" in h.reasons[0] and "health_max_age_ms" in h.reasons[0]
    assert health.assess(_snapshot(age_ns=MAX_AGE), NOW, MAX_AGE).alive  # the bound itself is still alive


def test_every_reason_not_to_trade_is_named_once() -> None:
    snapshot = _snapshot(
        feeds=(_feed("binance", synced=False), _feed("bybit", stale=True, last_message_ns=NOW - 3 * S)),
        books=("out_of_sync", "stale"),  # the kernel's view agrees with the feeds: each book named once
        journal="cannot commit: disk I/O error",
        halted="kill switch",
        paused="daily loss limit",
        symbols=(SymbolState("BTCUSDT", (), hedge_failed=True),),
    )
    h = health.assess(snapshot, NOW, MAX_AGE)
    assert (h.alive, h.ready, h.status) == (True, False, "not ready")
    assert h.reasons == (
        "binance BTCUSDT: book out of sync (being rebuilt)",
        "bybit BTCUSDT: stale, no depth update for 3.0 s",
        "journal: cannot commit: disk I/O error",
        "halted: kill switch (no new pair until a person clears it: arb halt --live --clear)",
        "BTCUSDT: a lone leg was not hedged within the attempts: no new pair until cleared",
    )
    assert h.body["paused"] == "daily loss limit"  # shown, not a reason: it lifts by itself


def test_a_pause_alone_keeps_it_ready_and_a_replay_without_feeds_is_judged_on_the_kernels_books() -> None:
    assert health.assess(_snapshot(paused="daily loss limit"), NOW, MAX_AGE).ready
    replay = _snapshot(mode="dry-run", feeds=(), journal="", books=("ok", "stale"))
    h = health.assess(replay, NOW, MAX_AGE)
    assert h.reasons == ("bybit BTCUSDT: stale, no depth update lately",)
    disconnected = _snapshot(feeds=(_feed("binance", connected=False), _feed("bybit")))
    assert health.assess(disconnected, NOW, MAX_AGE).reasons == ("binance BTCUSDT: disconnected (reconnecting)",)


def test_a_banned_venue_is_a_reason_not_to_trade_and_a_rate_limit_is_shown_not_counted() -> None:
    banned = VenueLimits("binance", "spot", True, NOW + 120 * S, False, 0, "BANNED (-1003 Way too many requests)")
    held = VenueLimits("bybit", "spot", False, 0, True, NOW + 5 * S, "rate limited (10006 Too many visits)")
    h = health.assess(_snapshot(venues=(banned, held)), NOW, MAX_AGE)
    assert h.reasons == ("binance spot: banned until 2023-11-14T22:15:20Z (BANNED (-1003 Way too many requests)): "
                         "nothing goes to it, hedges included",)  # fmt: skip
    assert h.body["venues"][1] == {"venue": "bybit", "market": "spot", "banned": False, "banned_until": "",
                                   "rate_limited": True, "held_until": "2023-11-14T22:13:25Z",
                                   "reason": "rate limited (10006 Too many visits)"}  # fmt: skip
    lines = describe("http://x", h.body)
    assert lines[1].startswith("  - binance spot: banned until 2023-11-14T22:15:20Z")
    assert "bybit spot rate limited until 2023-11-14T22:13:25Z" in lines[-1]
    assert health.assess(_snapshot(venues=(held,)), NOW, MAX_AGE).ready


def _get(url: str) -> tuple[int, dict[str, object], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers["Cache-Control"]
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), error.headers["Cache-Control"]


@pytest.fixture
def served() -> tuple[OpsHub, OpsServer, list[int]]:
    hub = OpsHub()
    clock = [NOW]
    server = OpsServer("127.0.0.1", 0, [health.setup(hub, MAX_AGE, clock=lambda: clock[0], run_id=RUN_ID)])
    server.start()
    try:
        yield hub, server, clock  # type: ignore[misc]
    finally:
        server.stop()


def test_the_routes_answer_what_assess_says_as_json_never_cached(served: tuple[OpsHub, OpsServer, list[int]]) -> None:
    hub, server, clock = served
    assert _get(server.url + "/healthz")[0] == 503
    code, body, cache = _get(server.url + "/readyz")
    assert (code, body["status"], cache) == (503, "starting", "no-store")
    hub.publish(_snapshot())
    assert _get(server.url + "/healthz")[0] == 200
    code, body, _ = _get(server.url + "/readyz")
    assert (code, body["status"], body["ready"]) == (200, "ready", True)
    hub.publish(_snapshot(halted="max_drawdown"))
    code, body, _ = _get(server.url + "/readyz")
    assert (code, body["status"]) == (503, "not ready") and body["reasons"][0].startswith("halted: max_drawdown")
    assert _get(server.url + "/healthz")[0] == 200  # alive all the same: a halt is no cause for a restart
    clock[0] = NOW + MAX_AGE + S  # the loop stopped publishing
    code, body, _ = _get(server.url + "/healthz")
    assert (code, body["status"], body["alive"]) == (503, "stalled", False)
    assert _get(server.url + "/readyz")[0] == 503


RUN_ID = "0123456789abcdef"


def _status_config(tmp_path: Path, port: int, *, run_id: str = RUN_ID, serving: bool = True) -> Path:
    """A configuration whose [ops] port is ``port`` and, with ``serving``, an ``arb live`` of it that wrote
    it serves there as ``run_id`` (what a running process's watch writes)."""
    path = write_config_files(tmp_path, arbitrage_overrides={"ops": {"enabled": True, "port": port}})
    if serving:
        write_address(tmp_path / "live", Address(f"http://127.0.0.1:{port}", 4242, run_id, "live", "BTCUSDT"))
    return path


def test_arb_status_prints_ready_or_every_reason_and_exits_0_or_1(
    served: tuple[OpsHub, OpsServer, list[int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, server, _ = served
    config = str(_status_config(tmp_path, server.port))
    hub.publish(_snapshot())
    assert main(["status", "--config", config]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"arb live BTCUSDT at {server.url}: READY"
    assert "books: binance BTCUSDT ok, bybit BTCUSDT ok" in out[1] and "journal ok" in out[1] and "up 1h00m" in out[1]

    hub.publish(_snapshot(feeds=(_feed("binance"), _feed("bybit", stale=True, last_message_ns=NOW - 4 * S)),
                          books=("ok", "stale"), halted="kill switch"))  # fmt: skip
    assert main(["status", "--config", config]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        f"arb live BTCUSDT at {server.url}: NOT READY",
        "  - bybit BTCUSDT: stale, no depth update for 4.0 s",
        "  - halted: kill switch (no new pair until a person clears it: arb halt --live --clear)",
    ]
    assert main(["status", "--url", server.url, "--liveness"]) == 0  # alive, if not ready
    assert capsys.readouterr().out.startswith(f"arb live BTCUSDT at {server.url}: ALIVE")
    assert main(["status", "--url", server.url + "/", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["reasons"][1].startswith("halted: kill switch")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_arb_status_with_nothing_listening_exits_69_and_says_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    # no process of the configuration says where it serves: nothing is asked, the configured port neither
    config = str(_status_config(tmp_path / "none", port, serving=False))
    assert main(["status", "--config", config, "--timeout", "2s"]) == EXIT_NOT_RUNNING == 69
    out = capsys.readouterr().out
    assert out.startswith("arb: NOT RUNNING (no arb record, dry-run or live of ") and "ops.json" in out
    # an address left by a run that ended: nothing answers there
    config = str(_status_config(tmp_path / "left", port))
    assert main(["status", "--config", config, "--timeout", "2s"]) == EXIT_NOT_RUNNING
    out = capsys.readouterr().out
    assert out.startswith(f"arb live (pid 4242, {tmp_path / 'left' / 'live' / 'ops.json'}) at http://127.0.0.1:{port}: "
                          "NOT RUNNING (nothing answers:")  # fmt: skip


def test_arb_status_never_takes_another_process_for_its_own(
    served: tuple[OpsHub, OpsServer, list[int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, server, _ = served
    hub.publish(_snapshot())
    # the address says a run that ended served here; another arb (another run id) has the port now
    config = str(_status_config(tmp_path, server.port, run_id="fedcba9876543210"))
    assert main(["status", "--config", config]) == EXIT_NOT_RUNNING
    out = capsys.readouterr().out
    assert f"at {server.url}: NOT RUNNING (another process answers there: arb live BTCUSDT, pid " in out


def test_arb_status_against_a_server_that_is_not_arbs_exits_69(capsys: pytest.CaptureFixture[str]) -> None:
    server = OpsServer("127.0.0.1", 0, [])  # answers 404 to everything
    server.start()
    try:
        assert main(["status", "--url", server.url]) == EXIT_NOT_RUNNING
    finally:
        server.stop()
    assert "/readyz answered HTTP 404, not as arb's ops server does" in capsys.readouterr().out


def test_arb_status_names_a_configuration_it_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    off = write_config_files(tmp_path / "off", arbitrage_overrides={"ops": {"enabled": False}})
    assert main(["status", "--config", str(off)]) == 2
    assert "[ops] enabled = false" in capsys.readouterr().err
    assert main(["status", "--url", "127.0.0.1:8321"]) == 2
    assert "arb status: --url: expected an address like http://127.0.0.1:8321, got '127.0.0.1:8321'" in (
        capsys.readouterr().err
    )


def test_a_server_on_every_address_is_asked_on_loopback() -> None:
    assert ops_url("0.0.0.0", 8321) == "http://127.0.0.1:8321"
    assert ops_url("::", 8321) == "http://[::1]:8321"
    assert ops_url("10.0.0.5", 9) == "http://10.0.0.5:9"


def test_describe_a_liveness_answer_shows_only_what_keeps_it_from_being_alive() -> None:
    stalled = health.assess(_snapshot(age_ns=MAX_AGE * 2), NOW, MAX_AGE).body
    lines = describe("http://x", stalled, liveness=True)
    assert lines[0] == "arb live BTCUSDT at http://x: STALLED" and lines[1].startswith("  - stalled: the trading loop")
    halted = health.assess(_snapshot(halted="kill switch"), NOW, MAX_AGE).body
    lines = describe("http://x", halted, liveness=True)
    assert lines[0] == "arb live BTCUSDT at http://x: ALIVE" and not any(line.startswith("  - ") for line in lines)


def test_a_file_left_by_an_ended_process_is_said_not_counted_beside_one_that_runs(
    served: tuple[OpsHub, OpsServer, list[int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, server, _ = served
    hub.publish(_snapshot())
    config = str(_status_config(tmp_path, server.port))  # arb live, answering: ready
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    gone = int(ended.stdout)
    write_address(tmp_path / "paper", Address(f"http://127.0.0.1:{_free_port()}", gone, "aa" * 8, "dry-run"))
    assert main(["status", "--config", config, "--timeout", "2s"]) == 0
    out = capsys.readouterr().out
    assert f"arb live BTCUSDT at {server.url}: READY" in out
    assert f"arb dry-run (pid {gone}, {tmp_path / 'paper' / 'ops.json'}) at http://127.0.0.1:" in out
    assert "NOT RUNNING (nothing answers: " in out and f"the file is left by pid {gone}, which has ended" in out


def test_three_venues_are_each_judged_and_each_named_in_the_reasons() -> None:
    three = ("binance", "bybit", "okx")  # names only: readiness judges whatever venues the snapshot lists
    ready = dataclasses.replace(_snapshot(feeds=tuple(_feed(v) for v in three), venue_names=three),
                                books=tuple(BookState(v, "BTCUSDT", "ok") for v in three))  # fmt: skip
    h = health.assess(ready, NOW, MAX_AGE)
    assert h.ready and [b["venue"] for b in h.body["books"]] == list(three)
    assert [f["venue"] for f in h.body["feeds"]] == list(three)
    unwell = dataclasses.replace(
        ready,
        feeds=(_feed("binance"), _feed("bybit"), _feed("okx", connected=False)),
        books=(BookState("binance", "BTCUSDT", "ok"), BookState("bybit", "BTCUSDT", "stale"),
               BookState("okx", "BTCUSDT", "out_of_sync")),
        venues=(VenueLimits("bybit", "spot", True, NOW + 60 * S, False, 0, "BANNED"),),
    )  # fmt: skip
    h = health.assess(unwell, NOW, MAX_AGE)
    assert not h.ready and h.reasons == (
        "okx BTCUSDT: disconnected (reconnecting)",  # a feed's reason, named once for its book too
        "bybit BTCUSDT: stale, no depth update lately",
        "bybit spot: banned until 2023-11-14T22:14:20Z (BANNED): nothing goes to it, hedges included",
    )
