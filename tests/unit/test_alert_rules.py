"""The alert rules and the dedup, pure: hub events and snapshots in, alerts out, on a driven clock."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from arb.config import AlertsConfig
from arb.events import NS_PER_S
from arb.execution.outcome import Answer, Outcome
from arb.execution.rate_guard import RateGuard
from arb.ops.alerts.channels import classify_http
from arb.ops.alerts.model import Alert, AlertKind, Severity, format_message, split_text, takes
from arb.ops.alerts.rules import LATENCY_MIN_SAMPLES, AlertRules, histogram_quantile
from arb.ops.alerts.service import Dedup, process_rss
from arb.ops.snapshot import FeedHealth, LatencyHistogram, OpsEvent, Snapshot, VenueAccount, venue_limits

S = NS_PER_S
NAN = math.nan
T0 = int(dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC).timestamp()) * S
VENUES = ("binance", "bybit")  # the run's venues, as the service makes the rules with them (config.venue_names)


def feed(venue: str = "binance", *, connected: bool = True, synced: bool = True, stale: bool = False,
         last_ns: int = 0, resyncs: int = 0) -> FeedHealth:  # fmt: skip
    return FeedHealth(venue, "spot", "BTCUSDT", connected, synced, stale, "wss://example/ws", last_ns, 10, 0, resyncs,
                      0, 0)  # fmt: skip


def account(venue: str, fills: int) -> VenueAccount:
    return VenueAccount(venue, 0.0, 1.0, 1000.0, 100.0, 101.0, 0, fills, fills)


def snap(ts_ns: int, *, feeds: tuple[FeedHealth, ...] = (), spread: tuple[float, float] = (NAN, NAN),
         paused: str = "", pnl: float = NAN, fees: float = 0.0, pairs: int = 0,
         accounts: tuple[VenueAccount, ...] = ()) -> Snapshot:  # fmt: skip
    return Snapshot("dry-run", "BTCUSDT", "USDT", ts_ns, ts_ns, feeds, accounts=accounts, spread_bps=spread,
                    pnl=pnl, fees=fees, pairs=pairs, paused=paused)  # fmt: skip


def test_venue_down_is_alerted_past_stale_after_and_resolved_when_back() -> None:
    rules = AlertRules(AlertsConfig(stale_after_ns=10 * S))
    assert rules.on_snapshot(snap(T0, feeds=(feed(),))) == []
    assert rules.on_snapshot(snap(T0 + 1 * S, feeds=(feed(connected=False),))) == []
    assert rules.on_snapshot(snap(T0 + 10 * S, feeds=(feed(connected=False),))) == []  # down 9 s
    [alert] = rules.on_snapshot(snap(T0 + 11 * S, feeds=(feed(connected=False),)))
    assert (alert.kind, alert.severity, alert.resolved) == (AlertKind.VENUE_DOWN, Severity.CRITICAL, False)
    assert alert.key == (AlertKind.VENUE_DOWN, "binance", "BTCUSDT")
    assert "disconnected for 10 s" in alert.text
    assert rules.on_snapshot(snap(T0 + 12 * S, feeds=(feed(connected=False),))) == []  # once per episode
    [back] = rules.on_snapshot(snap(T0 + 13 * S, feeds=(feed(),)))
    assert back.resolved and back.key == alert.key and back.severity == Severity.CRITICAL
    assert rules.on_snapshot(snap(T0 + 14 * S, feeds=(feed(),))) == []


def test_a_blip_shorter_than_stale_after_says_nothing() -> None:
    rules = AlertRules(AlertsConfig(stale_after_ns=10 * S))
    assert rules.on_snapshot(snap(T0, feeds=(feed(stale=True),))) == []
    assert rules.on_snapshot(snap(T0 + 9 * S, feeds=(feed(synced=False),))) == []
    assert rules.on_snapshot(snap(T0 + 10 * S, feeds=(feed(),))) == []  # back before the threshold: no resolved


def test_stale_and_unsynced_feeds_count_as_down_per_venue() -> None:
    rules = AlertRules(AlertsConfig(stale_after_ns=5 * S))
    feeds = (feed("binance", stale=True, last_ns=T0 - 2 * S), feed("bybit", synced=False))
    assert rules.on_snapshot(snap(T0, feeds=feeds)) == []
    alerts = rules.on_snapshot(snap(T0 + 5 * S, feeds=feeds))
    assert [a.venue for a in alerts] == ["binance", "bybit"]
    assert "stale" in alerts[0].text and "last book update 7.0 s ago" in alerts[0].text
    assert "not synced" in alerts[1].text


def test_resync_burst_counts_one_venue_within_the_window() -> None:
    rules = AlertRules(AlertsConfig(resync_burst=3, resync_window_ns=10 * S))

    def resync(venue: str, t: int) -> list[Alert]:
        return rules.on_event(OpsEvent("resync", T0 + t * S, venue, "gap", {"symbol": "BTCUSDT"}))

    assert resync("binance", 0) == []
    assert resync("binance", 5) == []
    assert resync("bybit", 6) == []  # another venue: its own count
    assert resync("binance", 11) == []  # the one at 0 left the window
    [alert] = resync("binance", 12)
    assert (alert.kind, alert.severity, alert.key) == (
        AlertKind.RESYNC_BURST,
        Severity.INFO,
        (AlertKind.RESYNC_BURST, "binance", ""),
    )
    assert "3 book resyncs within 10 s" in alert.text
    assert resync("binance", 13) == []  # the next burst counts afresh


def test_abnormal_spread_beyond_bps_in_either_direction() -> None:
    rules = AlertRules(AlertsConfig(abnormal_spread_bps=50.0), venues=VENUES)
    assert rules.on_snapshot(snap(T0, spread=(-2.0, -3.0))) == []
    assert rules.on_snapshot(snap(T0 + S, spread=(NAN, 49.0))) == []
    [alert] = rules.on_snapshot(snap(T0 + 2 * S, spread=(-1.0, -75.0)))
    assert (alert.kind, alert.severity, alert.symbol) == (AlertKind.ABNORMAL_SPREAD, Severity.INFO, "BTCUSDT")
    assert "-75.0 bps buying bybit, selling binance" in alert.text
    assert AlertRules(AlertsConfig(abnormal_spread_bps=0.0)).on_snapshot(snap(T0, spread=(900.0, 900.0))) == []


def test_abnormal_spread_by_sigma_against_recent_history() -> None:
    rules = AlertRules(AlertsConfig(abnormal_spread_bps=0.0, abnormal_spread_sigma=4.0), history=100, venues=VENUES)
    for i in range(29):  # too little history to judge, even a wild value
        assert rules.on_snapshot(snap(T0 + i * S, spread=(1.0 if i % 2 else -1.0, NAN))) == []
    assert rules.on_snapshot(snap(T0 + 29 * S, spread=(1.0, NAN))) == []  # 30 samples now, mean 0, std 1
    assert rules.on_snapshot(snap(T0 + 30 * S, spread=(3.9, NAN))) == []
    [alert] = rules.on_snapshot(snap(T0 + 31 * S, spread=(9.0, NAN)))
    assert "sigma" in alert.text and "buying binance, selling bybit" in alert.text


def test_dedup_sends_a_key_once_per_cooldown_and_again_after_it() -> None:
    dedup = Dedup(60 * S)
    alert = Alert(AlertKind.RESYNC_BURST, "burst", "3 resyncs", T0, "binance")
    assert dedup.admit(alert, T0) is alert
    assert dedup.admit(alert, T0 + 30 * S) is None
    assert dedup.admit(Alert(AlertKind.RESYNC_BURST, "burst", "x", T0, "bybit"), T0 + 31 * S) is not None  # other key
    assert dedup.suppressed == 1
    assert dedup.admit(alert, T0 + 60 * S) is alert
    assert dedup.suppressed == 1


def test_resolved_always_goes_and_a_flapping_episode_is_held_until_the_cooldown_ends() -> None:
    dedup = Dedup(60 * S)
    down = Alert(AlertKind.VENUE_DOWN, "down", "", T0, "binance", "BTCUSDT")
    back = Alert(AlertKind.VENUE_DOWN, "back", "", T0, "binance", "BTCUSDT", resolved=True)
    assert dedup.admit(back, T0) is None  # nothing was announced: nothing to resolve
    assert dedup.admit(down, T0) is down
    assert dedup.admit(back, T0 + 1 * S) is back  # within the cooldown, still sent
    assert dedup.admit(back, T0 + 2 * S) is None  # once per episode
    assert dedup.admit(down, T0 + 3 * S) is None  # down again within the cooldown: held
    assert dedup.due(T0 + 30 * S) == []
    assert dedup.due(T0 + 60 * S) == [down]  # still down when the cooldown ends: announced
    assert dedup.admit(back, T0 + 61 * S) is back
    # a held episode that ends before the cooldown does is never announced nor resolved
    assert dedup.admit(down, T0 + 62 * S) is None
    assert dedup.admit(back, T0 + 63 * S) is None
    assert dedup.due(T0 + 200 * S) == []


def test_daily_summary_when_the_snapshot_clock_crosses_utc_midnight() -> None:
    rules = AlertRules(AlertsConfig())
    day = int(dt.datetime(2026, 11, 22, tzinfo=dt.UTC).timestamp()) * S
    midnight = day + 86_400 * S
    start = snap(day + 3_600 * S, pnl=2.0, fees=0.5, pairs=1, accounts=(account("binance", 1), account("bybit", 1)),
                 feeds=(feed(resyncs=1),))  # fmt: skip
    assert rules.on_snapshot(start) == []
    assert rules.on_event(OpsEvent("halt", midnight - 60 * S, "", "halted", {"reason": "max_drawdown"}))
    assert rules.on_event(OpsEvent("halt", midnight - 50 * S, "", "cleared", {}, resolved=True))
    end = snap(midnight - 1, pnl=7.5, fees=1.75, pairs=4, accounts=(account("binance", 4), account("bybit", 5)),
               feeds=(feed(resyncs=3),))  # fmt: skip
    assert rules.on_snapshot(end) == []
    [summary] = rules.on_snapshot(snap(midnight + S, pnl=8.0, fees=2.0, pairs=5))
    assert (summary.kind, summary.severity, summary.symbol) == (AlertKind.DAILY_SUMMARY, Severity.INFO, "2026-11-22")
    text = summary.text  # the account began this day: all its pnl so far is the day's
    assert "pnl +7.50 USDT" in text and "fees 1.25 USDT" in text and "pairs 3" in text
    assert "fills: binance 3, bybit 4" in text
    assert "halts: 1" in text and "binance BTCUSDT: 2 resyncs" in text
    # the next day is counted from the last snapshot before midnight
    assert rules.on_snapshot(snap(midnight + 7_200 * S, pnl=9.0, fees=2.0, pairs=5, accounts=end.accounts)) == []
    [second] = rules.on_snapshot(snap(midnight + 86_400 * S))
    assert "pnl +1.50 USDT" in second.text and "halts: 0" in second.text
    assert AlertRules(AlertsConfig(daily_summary=False)).on_snapshot(snap(day)) == []


def test_no_summary_without_a_midnight() -> None:
    rules = AlertRules(AlertsConfig())
    assert all(rules.on_snapshot(snap(T0 + i * 3_600 * S)) == [] for i in range(11))  # 12:00 to 22:00


def test_risk_events_are_critical_with_resolved_messages() -> None:
    rules = AlertRules(AlertsConfig())
    [naked] = rules.on_event(OpsEvent("naked_leg", T0, "", "binance long 0.001"))
    assert (naked.kind, naked.severity, naked.resolved) == (AlertKind.NAKED_LEG, Severity.CRITICAL, False)
    [closed] = rules.on_event(OpsEvent("naked_leg", T0 + S, "", "closed", resolved=True))
    assert closed.resolved and closed.key == naked.key
    assert rules.on_event(OpsEvent("naked_leg", T0 + 2 * S, "", "closed", resolved=True)) == []
    [halt] = rules.on_event(OpsEvent("halt", T0, "", "trading halted: kill", {"reason": "kill"}))
    assert halt.kind == AlertKind.HALT and halt.severity == Severity.CRITICAL and "kill" in halt.title
    [a, b] = [rules.on_event(OpsEvent("breach", T0, "", "t", {"key": k}))[0] for k in ("max_drawdown", "max_pairs")]
    assert a.kind == AlertKind.BREACH and a.key != b.key and a.severity == Severity.CRITICAL
    [hedge] = rules.on_event(OpsEvent("hedge_failed", T0, "bybit", "no hedge"))
    assert hedge.severity == Severity.CRITICAL
    assert rules.on_event(OpsEvent("fill", T0, "binance", "buy")) == []
    [paused] = rules.on_snapshot(snap(T0, paused="daily loss limit"))
    assert paused.kind == AlertKind.PAUSED and paused.severity == Severity.CRITICAL
    [lifted] = rules.on_snapshot(snap(T0 + S))
    assert lifted.resolved


def test_low_disk_once_per_episode() -> None:
    rules = AlertRules(AlertsConfig(disk_free_min_mb=100.0))
    mb = 1024 * 1024
    [low] = rules.on_disk("/rec", 50 * mb, T0)
    assert (low.kind, low.severity, low.symbol) == (AlertKind.DISK_LOW, Severity.INFO, "/rec")
    assert rules.on_disk("/rec", 40 * mb, T0 + S) == []
    [back] = rules.on_disk("/rec", 200 * mb, T0 + 2 * S)
    assert back.resolved
    assert rules.on_event(OpsEvent("disk_low", T0, "", "", {"path": "/other", "free_bytes": 1}))[0].symbol == "/other"


def test_routes_critical_and_all() -> None:
    info = Alert(AlertKind.RESYNC_BURST, "burst", "", T0)
    critical = Alert(AlertKind.HALT, "halt", "", T0)
    assert takes("all", info) and takes("all", critical)
    assert takes("critical", critical) and not takes("critical", info)
    assert format_message(critical, "live").startswith("[CRITICAL] halt\n")
    assert "[RESOLVED]" in format_message(Alert(AlertKind.HALT, "cleared", "", T0, resolved=True), "live")


def test_split_text_keeps_parts_within_the_limit() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    parts = split_text(text, 4096)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    long_line = "y" * 9000
    parts = split_text(long_line, 4096)
    assert [len(p) for p in parts] == [4096, 4096, 808] and "".join(parts) == long_line
    emoji = "\N{ROCKET}" * 3000  # two UTF-16 units each, as Telegram counts
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in split_text(emoji, 4096))
    assert split_text("short", 4096) == ["short"]


def test_one_function_decides_what_an_http_status_means() -> None:
    assert [classify_http(s) for s in (200, 204, 429, 408, 500, 503, 400, 401, 404)] == [
        "ok", "ok", "rate_limited", "retry", "retry", "retry", "fatal", "fatal", "fatal"]  # fmt: skip


# -- two symbols --------------------------------------------------------------------------------------------

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def two_symbol_snap(ts_ns: int, *, btc: tuple[float, float] = (NAN, NAN), eth: tuple[float, float] = (NAN, NAN),
                    pnl: tuple[float, float] = (NAN, NAN), fills: tuple[int, int] = (0, 0)) -> Snapshot:  # fmt: skip
    from arb.ops.snapshot import SymbolState

    states = tuple(
        SymbolState(name, (account("binance", n), account("bybit", n)), spread_bps=spread, pnl=p, pairs=n)
        for name, spread, p, n in zip(SYMBOLS, (btc, eth), pnl, fills, strict=True)
    )
    total = pnl[0] + pnl[1]
    return Snapshot("dry-run", ",".join(SYMBOLS), "USDT", ts_ns, ts_ns, (), accounts=(account("binance", sum(fills)),
                    account("bybit", sum(fills))), pnl=total, symbols=states)  # fmt: skip


def test_with_two_symbols_lone_legs_hedges_and_breaches_are_alerted_per_symbol_naming_it() -> None:
    rules = AlertRules(AlertsConfig(), symbols=SYMBOLS)
    [eth] = rules.on_event(OpsEvent("naked_leg", T0, "", "binance ETHUSDT long 0.1", {"symbol": "ETHUSDT"}))
    [btc] = rules.on_event(OpsEvent("naked_leg", T0, "", "bybit BTCUSDT short 0.001", {"symbol": "BTCUSDT"}))
    assert (eth.title, btc.title) == ("ETHUSDT naked leg", "BTCUSDT naked leg") and eth.key != btc.key
    [closed] = rules.on_event(OpsEvent("naked_leg", T0 + S, "", "closed", {"symbol": "ETHUSDT"}, resolved=True))
    assert closed.resolved and closed.key == eth.key and closed.title == "ETHUSDT naked leg closed"
    assert rules.on_event(OpsEvent("naked_leg", T0 + S, "", "closed", {"symbol": "ETHUSDT"}, resolved=True)) == []
    [hedge] = rules.on_event(OpsEvent("hedge_failed", T0, "", "ETHUSDT: no hedge", {"symbol": "ETHUSDT"}))
    assert hedge.title == "ETHUSDT hedge failed" and hedge.symbol == "ETHUSDT"
    text = "ETHUSDT: net position if one side of the pair filled alone 0.12 > 0.1 ([risk] position_limit): pair refused"
    [mine] = rules.on_event(OpsEvent("breach", T0, "", text, {"key": "position_limit", "symbol": "ETHUSDT"}))
    [other] = rules.on_event(OpsEvent("breach", T0, "", "t", {"key": "position_limit", "symbol": "BTCUSDT"}))
    [account_wide] = rules.on_event(OpsEvent("breach", T0, "", "t", {"key": "max_total_notional", "symbol": ""}))
    assert mine.title == "risk limit: ETHUSDT position_limit" and mine.text == text
    assert mine.key != other.key  # one episode per symbol and limit
    assert account_wide.title == "risk limit: max_total_notional"
    # one symbol: the titles and keys as they always were
    single = AlertRules(AlertsConfig(), symbols=("BTCUSDT",))
    [alone] = single.on_event(OpsEvent("breach", T0, "", "t", {"key": "position_limit", "symbol": "BTCUSDT"}))
    assert (alone.title, alone.symbol) == ("risk limit: position_limit", "position_limit")


def test_with_two_symbols_each_spread_is_judged_against_its_own_history() -> None:
    rules = AlertRules(AlertsConfig(abnormal_spread_bps=50.0), symbols=SYMBOLS)
    assert rules.on_snapshot(two_symbol_snap(T0, btc=(5.0, -9.0), eth=(20.0, -30.0))) == []
    [alert] = rules.on_snapshot(two_symbol_snap(T0 + S, btc=(5.0, -9.0), eth=(-80.0, 3.0)))
    assert (alert.kind, alert.symbol, alert.title) == (AlertKind.ABNORMAL_SPREAD, "ETHUSDT", "ETHUSDT abnormal spread")
    assert alert.text.startswith("ETHUSDT spread -80.0 bps buying binance, selling bybit")


def test_with_two_symbols_the_daily_summary_has_a_line_per_symbol() -> None:
    rules = AlertRules(AlertsConfig(), symbols=SYMBOLS)
    day = int(dt.datetime(2026, 11, 22, tzinfo=dt.UTC).timestamp()) * S
    midnight = day + 86_400 * S
    assert rules.on_snapshot(two_symbol_snap(day + S, pnl=(0.0, 0.0))) == []
    assert rules.on_snapshot(two_symbol_snap(midnight - S, pnl=(1.5, -0.25), fills=(2, 6))) == []
    [summary] = rules.on_snapshot(two_symbol_snap(midnight + S, pnl=(1.5, -0.25), fills=(2, 6)))
    assert "dry-run BTCUSDT,ETHUSDT" in summary.text and "pnl +1.25 USDT" in summary.text
    assert "BTCUSDT: pnl +1.50 USDT, fees 0.00 USDT, pairs 2, fills binance 2, bybit 2" in summary.text
    assert "ETHUSDT: pnl -0.25 USDT, fees 0.00 USDT, pairs 6, fills binance 6, bybit 6" in summary.text


# -- order round trips and the process's memory ------------------------------------------------------


def trips(ts_ns: int, binance_ms: list[float], bybit_ms: tuple[float, ...] | list[float] = ()) -> Snapshot:
    """A snapshot whose order round-trip histograms hold these samples (ms), as the loop records them."""
    histograms = []
    for venue, samples in (("binance", binance_ms), ("bybit", bybit_ms)):
        h = LatencyHistogram("order_round_trip", venue)
        for ms in samples:
            h.record(int(ms * 1_000_000))
        histograms.append(h.figures())
    return Snapshot("live", "BTCUSDT", "USDT", ts_ns, ts_ns, (), latencies=tuple(histograms))


def test_histogram_quantile_interpolates_within_the_bucket_as_prometheus_does() -> None:
    bounds = (10, 20, 40)
    assert histogram_quantile(0.5, bounds, (0, 4, 0, 0)) == 15.0  # half way through (10, 20]
    assert histogram_quantile(0.99, bounds, (99, 0, 1, 0)) == 10.0  # the 99th of 100 is the last in (0, 10]
    assert histogram_quantile(0.99, bounds, (50, 0, 50, 0)) == 20.0 + 20.0 * 49 / 50
    assert histogram_quantile(0.99, bounds, (0, 0, 0, 5)) == 40.0  # above the last bound: the last bound
    assert math.isnan(histogram_quantile(0.99, bounds, (0, 0, 0, 0)))


def test_slow_order_answers_are_alerted_per_venue_over_the_window_and_resolved_when_fast_again() -> None:
    rules = AlertRules(AlertsConfig(order_ack_p99_ns=500 * 1_000_000, order_ack_window_ns=300 * S))
    fast = [20.0] * 100
    assert rules.on_snapshot(trips(T0, fast, fast)) == []
    # 40 slow answers (1.5-2 s) on Binance among 140: its p99 is above 500 ms; Bybit stays fast
    slow = fast + [1800.0] * 40
    [alert] = rules.on_snapshot(trips(T0 + 60 * S, slow, fast))
    assert (alert.kind, alert.severity, alert.resolved, alert.venue) == (
        AlertKind.ORDER_LATENCY,
        Severity.INFO,
        False,
        "binance",
    )
    assert alert.key == (AlertKind.ORDER_LATENCY, "binance", "")
    assert "binance: order round trip p99" in alert.text and "(140 orders), above 500 ms" in alert.text
    assert rules.on_snapshot(trips(T0 + 120 * S, slow, fast)) == []  # once per episode
    # six minutes on: the window holds only what came after the slow answers, all fast
    later = slow + [20.0] * 50
    [back] = rules.on_snapshot(trips(T0 + 420 * S, later, fast))
    assert back.resolved and back.key == alert.key and "(50 orders)" in back.text
    assert rules.on_snapshot(trips(T0 + 480 * S, later, fast)) == []


def test_a_few_slow_answers_are_not_judged_and_a_quiet_window_resolves() -> None:
    rules = AlertRules(AlertsConfig(order_ack_p99_ns=500 * 1_000_000, order_ack_window_ns=300 * S))
    few = [1800.0] * (LATENCY_MIN_SAMPLES - 1)
    assert rules.on_snapshot(trips(T0, few)) == []  # too few to have a p99
    many = [1800.0] * LATENCY_MIN_SAMPLES
    [alert] = rules.on_snapshot(trips(T0 + 1 * S, many))
    assert not alert.resolved
    # no order answered for a whole window: nothing slow any more
    assert rules.on_snapshot(trips(T0 + 200 * S, many)) == []  # the window still holds them
    [back] = rules.on_snapshot(trips(T0 + 400 * S, many))
    assert back.resolved and "no order answered in the last 300 s" in back.text


def test_order_latency_off_at_zero() -> None:
    rules = AlertRules(AlertsConfig(order_ack_p99_ns=0))
    assert rules.on_snapshot(trips(T0, [5000.0] * 100)) == []


def test_memory_above_the_limit_once_per_episode_and_resolved() -> None:
    rules = AlertRules(AlertsConfig(rss_max_mb=512.0))
    mib = 1024 * 1024
    assert rules.on_memory(400 * mib, T0) == []
    [alert] = rules.on_memory(600 * mib, T0 + S)
    assert (alert.kind, alert.severity, alert.resolved) == (AlertKind.MEMORY_HIGH, Severity.INFO, False)
    assert "600 MB of memory, above 512 MB" in alert.text
    assert rules.on_memory(700 * mib, T0 + 2 * S) == []
    [back] = rules.on_memory(300 * mib, T0 + 3 * S)
    assert back.resolved and back.key == alert.key
    assert AlertRules(AlertsConfig()).on_memory(10**12, T0) == []  # off by default


def test_the_process_knows_its_resident_memory() -> None:
    rss = process_rss()
    assert rss is not None and 10 * 1024 * 1024 < rss < 64 * 1024**3


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _limited(retry_s: float | None, *, banned: bool = False) -> Answer:
    return Answer(Outcome.REJECTED, "-1003", "Too many requests", 418 if banned else 429, retry_s, banned, True)


def _guarded(venue: str) -> tuple[RateGuard, Callable[[int], list[Alert]]]:
    # A venue's rate guard on a driven clock, and the alert rules' answer to a snapshot t seconds after T0
    clock = _Clock(T0)
    guard = RateGuard(venue, clock)
    rules = AlertRules(AlertsConfig(stale_after_ns=10 * S))

    def at(t: int) -> list[Alert]:
        clock.now = T0 + t * S
        return rules.on_snapshot(Snapshot("live", "BTCUSDT", "USDT", clock.now, clock.now, (),
                                          venues=venue_limits([(venue, "spot", guard)])))  # fmt: skip

    return guard, at


def test_a_venue_ban_is_alerted_at_once_critical_with_its_end_and_resolved_when_it_ends() -> None:
    guard, at = _guarded("binance")

    assert at(0) == []
    guard.observe({"Retry-After": "120"}, _limited(120.0, banned=True))
    [alert] = at(1)
    assert (alert.kind, alert.severity, alert.resolved) == (AlertKind.VENUE_BAN, Severity.CRITICAL, False)
    assert alert.key == (AlertKind.VENUE_BAN, "binance", "spot")
    assert alert.title == "binance BANNED until 2026-11-22 12:02:00 UTC"
    assert "binance spot: BANNED (-1003 Too many requests)" in alert.text and "(in 119 s)" in alert.text
    assert at(2) == []  # once per ban
    guard.observe({"Retry-After": "300"}, _limited(300.0, banned=True))  # the ban extended: still the same one
    assert at(3) == []
    assert at(300) == []
    [over] = at(302)
    assert over.resolved and over.key == alert.key and over.severity is Severity.CRITICAL
    assert over.title == "binance ban over"
    assert at(303) == []


def test_a_rate_limit_holding_new_orders_past_stale_after_is_an_info_alert_and_resolved() -> None:
    guard, at = _guarded("bybit")

    guard.observe({"Retry-After": "5"}, _limited(5.0))
    assert at(0) == [] and at(4) == []
    assert at(6) == []  # a short window says nothing
    guard.observe({"Retry-After": "30"}, _limited(30.0))
    assert at(7) == [] and at(16) == []  # held 9 s
    [alert] = at(17)
    assert (alert.kind, alert.severity, alert.resolved) == (AlertKind.RATE_LIMITED, Severity.INFO, False)
    assert alert.key == (AlertKind.RATE_LIMITED, "bybit", "spot")
    assert "bybit spot: rate limited (-1003 Too many requests): new pairs and quotes held for 10 s" in alert.text
    assert "until 2026-11-22 12:00:36 UTC" in alert.text
    assert at(20) == []
    [over] = at(37)
    assert over.resolved and over.key == alert.key and "after 30 s" in over.text
    assert at(38) == []


# -- three venues ----------------------------------------------------------------------------------------

THREE = ("binance", "bybit", "okx")  # names only: the rules name whatever venues the run has


def three_venue_snap(ts_ns: int, spreads: tuple[float, ...]) -> Snapshot:
    # one symbol on three venues: six directions, in venue_pairs order (buy 0 sell 1, buy 0 sell 2, buy 1
    # sell 0, buy 1 sell 2, buy 2 sell 0, buy 2 sell 1)
    return Snapshot("dry-run", "BTCUSDT", "USDT", ts_ns, ts_ns, (), accounts=tuple(account(v, 0) for v in THREE),
                    spread_bps=spreads, venue_names=THREE)  # fmt: skip


def test_with_three_venues_each_of_the_six_directions_is_named_from_the_run() -> None:
    rules = AlertRules(AlertsConfig(abnormal_spread_bps=50.0))
    assert rules.on_snapshot(three_venue_snap(T0, (1.0, -2.0, 3.0, -4.0, 49.0, -6.0))) == []
    [alert] = rules.on_snapshot(three_venue_snap(T0 + S, (1.0, -2.0, 3.0, -4.0, 5.0, -75.0)))
    assert alert.text == "BTCUSDT spread -75.0 bps buying okx, selling bybit (beyond 50 bps)"
    [two] = rules.on_snapshot(three_venue_snap(T0 + 2 * S, (60.0, NAN, NAN, -80.0, NAN, NAN)))
    assert "buying binance, selling bybit" in two.text and "buying bybit, selling okx" in two.text


def test_with_three_venues_each_direction_is_judged_against_its_own_history() -> None:
    rules = AlertRules(AlertsConfig(abnormal_spread_bps=0.0, abnormal_spread_sigma=4.0), history=100)
    quiet = (NAN,) * 6
    for i in range(30):  # bybit -> okx (direction 3) swings by one bps; the others are not known
        values = tuple((1.0 if i % 2 else -1.0) if d == 3 else NAN for d in range(6))
        assert rules.on_snapshot(three_venue_snap(T0 + i * S, values)) == []
    assert rules.on_snapshot(three_venue_snap(T0 + 30 * S, (9.0, *quiet[1:]))) == []  # binance -> bybit: no history
    [alert] = rules.on_snapshot(three_venue_snap(T0 + 31 * S, (*quiet[:3], 9.0, *quiet[4:])))
    assert "buying bybit, selling okx" in alert.text and "sigma" in alert.text


def test_with_three_venues_a_ban_says_where_hedges_go() -> None:
    clock = _Clock(T0)
    guard = RateGuard("bybit", clock)
    rules = AlertRules(AlertsConfig(), venues=THREE)
    guard.observe({"Retry-After": "120"}, _limited(120.0, banned=True))
    [alert] = rules.on_snapshot(Snapshot("live", "BTCUSDT", "USDT", T0, T0, (),
                                         venues=venue_limits([("bybit", "spot", guard)])))  # fmt: skip
    assert alert.key == (AlertKind.VENUE_BAN, "bybit", "spot")
    assert alert.text.endswith("hedges and unwinds go to the other venues (binance, okx)")
