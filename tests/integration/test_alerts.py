"""Each alert channel against its loopback fake: the message arrives, a duplicate within the cooldown
is sent once, a 429's retry_after is honoured, and a channel that hangs costs the trading loop nothing."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from arb.config import AlertsConfig, load_config
from arb.events import NS_PER_MS, NS_PER_S
from arb.ops.alerts.channels import Sender
from arb.ops.alerts.model import Alert, AlertKind
from arb.ops.alerts.service import AlertService
from arb.ops.alerts.smtp import EmailSender
from arb.ops.alerts.telegram import TelegramSender
from arb.ops.alerts.webhook import WebhookSender
from arb.ops.snapshot import OpsEvent, OpsHub, Snapshot
from arb.ops.watch import Watch
from arb.testing.configs import write_config_files
from arb.testing.fake_alerts import FakeSmtp, FakeTelegram, FakeWebhook

S = NS_PER_S
T0 = 1_795_348_800 * S  # 2026-11-22 12:00 UTC


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    """Every alert thread and fake server a test starts is gone when it ends (a thread told to stop
    ends soon, if late on a busy machine: each is joined, bounded against a hang)."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        thread.join(30.0)
    assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []


def counted(service: AlertService, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The service's counters once ``predicate`` holds of them (30 s: a bound on a hang, not on speed)."""
    return service.wait_counters(predicate, 30.0)


class DrivenClock:
    """The service's clock and sleep: a sleep moves the clock on at once and is recorded."""

    def __init__(self, t_ns: int = T0) -> None:
        self.t_ns = t_ns
        self.slept_ns: list[int] = []

    def __call__(self) -> int:
        return self.t_ns

    async def sleep(self, ns: int) -> None:
        self.slept_ns.append(ns)
        self.t_ns += ns
        await asyncio.sleep(0)


@contextmanager
def running(alerts: AlertsConfig, hub: OpsHub, channels: Sequence[Sender], **options: object) -> Iterator[AlertService]:
    service = AlertService(alerts, hub, channels, mode="test", poll_interval_ns=10 * NS_PER_MS, **options)  # type: ignore[arg-type]
    service.start()
    try:
        yield service
    finally:
        service.stop(timeout_s=2.0)


def telegram(fake: FakeTelegram, *, min_interval_ns: int = 0, route: str = "all") -> TelegramSender:
    return TelegramSender(token=fake.token, chat_id="4242", base_url=fake.base_url, route=route,
                          min_interval_ns=min_interval_ns, timeout_ns=5 * S)  # fmt: skip


def webhook(fake: FakeWebhook, *, timeout_ns: int = 5 * S) -> WebhookSender:
    return WebhookSender(url=fake.url, route="all", min_interval_ns=0, timeout_ns=timeout_ns)


def naked_leg(t: int = 0, *, resolved: bool = False) -> OpsEvent:
    return OpsEvent("naked_leg", T0 + t * S, "", "binance long 0.001 BTC" if not resolved else "closed",
                    resolved=resolved)  # fmt: skip


def test_telegram_message_arrives() -> None:
    hub = OpsHub()
    with FakeTelegram() as fake, running(AlertsConfig(), hub, [telegram(fake)]) as service:
        hub.emit(naked_leg())
        [message] = fake.wait_for(1)
        assert message["chat_id"] == "4242"
        assert message["text"].startswith("[CRITICAL] naked leg\nbinance long 0.001 BTC")
        counted(service, lambda c: c["sent"]["telegram"] == 1)


def test_telegram_duplicate_within_the_cooldown_is_sent_once_and_its_resolution_goes() -> None:
    hub = OpsHub()
    with FakeTelegram() as fake:
        with running(AlertsConfig(cooldown_ns=300 * S), hub, [telegram(fake)]) as service:
            hub.emit(naked_leg(0))
            hub.emit(naked_leg(1))
            counted(service, lambda c: c["suppressed"] == 1)
            hub.emit(naked_leg(2, resolved=True))
            fake.wait_for(2)
        texts = [m["text"] for m in fake.messages.items()]  # stopped: everything queued was sent
        assert [t.split("\n")[0] for t in texts] == ["[CRITICAL] naked leg", "[RESOLVED] naked leg closed"]
        assert service.counters()["sent"] == {"telegram": 2}


def test_telegram_429_retry_after_is_honoured_before_the_retry() -> None:
    hub = OpsHub()
    clock = DrivenClock()
    with FakeTelegram() as fake:
        fake.rate_limit(calls=1, retry_after=3)
        with running(AlertsConfig(), hub, [telegram(fake)], clock=clock, sleep=clock.sleep) as service:
            hub.emit(naked_leg())
            [message] = fake.wait_for(1)
            assert "naked leg" in message["text"]
            assert fake.calls.total == 2  # the 429, then the retry
            assert clock.slept_ns == [3 * S]  # waited retry_after before the next send
            counted(service, lambda c: c["sent"]["telegram"] == 1)
            assert service.counters()["rate_limited"] == {"telegram": 1}


def test_telegram_paces_one_message_a_second_and_splits_past_4096_characters() -> None:
    hub = OpsHub()
    clock = DrivenClock()
    with (
        FakeTelegram() as fake,
        running(AlertsConfig(), hub, [telegram(fake, min_interval_ns=S)], clock=clock, sleep=clock.sleep) as svc,
    ):
        svc.notify(Alert(AlertKind.TEST, "long", "z" * 5000, T0))
        parts = fake.wait_for(2)
        assert all(len(p["text"]) <= 4096 for p in parts)
        assert "".join(p["text"] for p in parts).count("z") == 5000
        assert clock.slept_ns == [S]  # the second part waited min_interval
        counted(svc, lambda c: c["sent"]["telegram"] == 1)  # one alert, counted once sent whole


def test_webhook_body_carries_text_and_content() -> None:
    hub = OpsHub()
    with FakeWebhook() as fake, running(AlertsConfig(), hub, [webhook(fake)]):
        hub.emit(OpsEvent("hedge_failed", T0, "bybit", "a lone leg was not hedged within 3 attempts"))
        [body] = fake.wait_for(1)
        assert body["text"] == body["content"]
        assert body["text"].startswith("[CRITICAL] hedge failed\na lone leg was not hedged")


@pytest.mark.parametrize("header", [True, False], ids=["retry-after-header", "json-retry-after"])
def test_webhook_429_waits_retry_after(header: bool) -> None:
    hub = OpsHub()
    with FakeWebhook() as fake:
        fake.rate_limit(calls=1, retry_after=0.2, header=header)
        with running(AlertsConfig(), hub, [webhook(fake)]) as service:
            hub.emit(naked_leg())
            fake.wait_for(1)
            first, second = fake.calls.items()
            assert second - first >= 200 * NS_PER_MS
            assert service.counters()["rate_limited"] == {"webhook": 1}


def test_email_arrives_at_the_smtp_server_and_takes_only_critical_alerts() -> None:
    hub = OpsHub()
    with FakeSmtp() as smtp:
        sender = EmailSender(host="127.0.0.1", port=smtp.port, sender="arb@example.com", to=("ops@example.com",),
                             security="none", route="critical", min_interval_ns=0, timeout_ns=5 * S)  # fmt: skip
        alerts = AlertsConfig(resync_burst=1)
        with running(alerts, hub, [sender]) as service:
            hub.emit(OpsEvent("resync", T0, "binance", "gap"))  # info: not for a critical route
            hub.emit(OpsEvent("halt", T0 + S, "", "trading halted: kill switch", {"reason": "kill switch"}))
            [mail] = smtp.wait_for(1)
        assert mail["Subject"] == "[arb test] [CRITICAL] trading halted: kill switch"
        assert mail["To"] == "ops@example.com" and mail["From"] == "arb@example.com"
        assert "no new pair until the halt is cleared" in mail.get_content()
        assert smtp.messages.total == 1
        assert service.counters()["sent"] == {"email": 1}


def test_the_alert_thread_watches_the_process_memory_and_says_when_it_is_back() -> None:
    # The service measures the resident memory with its disk check (here every 10 ms of the driven
    # clock), judged against [alerts] rss_max_mb; the readings are handed in, as the disk's are.
    hub = OpsHub()
    readings = iter([300, 700, 700] + [200] * 1000)
    clock = DrivenClock()
    hub.publish(Snapshot("live", "BTCUSDT", "USDT", T0, T0, ()))

    def rss() -> int:
        clock.t_ns += 20 * NS_PER_MS  # the next reading is due at the next poll
        return next(readings) * 1024 * 1024

    with FakeTelegram() as fake:
        options = {"clock": clock, "sleep": clock.sleep, "disk_check_ns": 10 * NS_PER_MS, "rss": rss}
        with running(AlertsConfig(rss_max_mb=512.0, cooldown_ns=0), hub, [telegram(fake)], **options):
            first, back = fake.wait_for(2)
    assert first["text"].startswith("[INFO] memory high\nthe process uses 700 MB of memory, above 512 MB")
    assert back["text"].startswith("[RESOLVED] memory back under\nthe process uses 200 MB again")


def commanded(fake: FakeTelegram) -> TelegramSender:
    return TelegramSender(token=fake.token, chat_id="4242", base_url=fake.base_url, route="critical",
                          min_interval_ns=0, timeout_ns=5 * S, commands=True)  # fmt: skip


def answers(fake: FakeTelegram, n: int) -> list[str]:
    return [m["text"] for m in fake.wait_for(n)]


def test_telegram_commands_answer_the_configured_chat_and_the_kill_switch_needs_a_confirmation() -> None:
    hub = OpsHub()
    hub.publish(Snapshot("live", "BTCUSDT", "USDT", T0, T0, (), halted="daily loss"))
    pulled = threading.Event()
    clock = DrivenClock()
    with FakeTelegram() as fake:
        fake.say("/kill")  # sent before the process started: confirmed unread, never obeyed
        fake.say("/kill confirm")
        with running(AlertsConfig(), hub, [commanded(fake)], clock=clock, sleep=clock.sleep) as service:
            service.kill = pulled.set
            fake.polls.wait_for(2)  # the backlog skipped, then a long poll
            assert fake.polls.items()[0] == (-1, 0)
            fake.say("/status")
            [status] = answers(fake, 1)
            assert status.startswith("[INFO] status\nlive BTCUSDT: HALTED (daily loss)")  # the route is no matter
            fake.say("/status", chat_id=999)  # another chat: not answered
            fake.say("/status", date=T0 // S - 60)  # older than the process: not answered
            fake.say("/kill confirm")  # nothing asked yet
            assert "nothing to confirm" in answers(fake, 2)[1]
            fake.say("/kill")
            assert "reply /kill confirm within 60 s" in answers(fake, 3)[2]
            clock.t_ns += 61 * S  # too late
            fake.say("/kill confirm")
            assert "nothing to confirm" in answers(fake, 4)[3]
            assert not pulled.is_set()
            fake.say("/kill")
            fake.say("/kill@arb_bot confirm")
            texts = answers(fake, 6)
            assert texts[5].startswith("[INFO] kill switch\npulled: arb live halts new pairs")
            assert pulled.is_set()
            fake.say("/start")
            assert "/status: positions, PnL, halts, feeds" in answers(fake, 7)[6]
        assert fake.messages.total == 7 and {m["chat_id"] for m in fake.messages.items()} == {"4242"}


def test_without_arb_live_the_kill_command_says_there_is_no_kill_switch() -> None:
    hub = OpsHub()
    with FakeTelegram() as fake, running(AlertsConfig(), hub, [commanded(fake)]):
        fake.polls.wait_for(2)
        fake.say("/kill")
        [text] = answers(fake, 1)
        assert "no kill switch here: this is a test" in text
        fake.say("/status")
        assert "test: starting (no snapshot yet)" in answers(fake, 2)[1]


def test_malformed_updates_are_skipped_and_the_next_command_answered() -> None:
    hub = OpsHub()
    with FakeTelegram() as fake, running(AlertsConfig(), hub, [commanded(fake)]):
        fake.polls.wait_for(2)
        for bad in ("not a message", {"chat": "4242", "text": "/status"}, {"chat": {"id": 4242}, "text": 7},
                    {"chat": {"id": 4242}, "date": "yesterday", "text": "/status"}, None):  # fmt: skip
            fake.say_raw(bad)
        fake.say("/status")
        texts = answers(fake, 2)  # the one with a bad date is still from the chat: answered
    assert [t.split("\n")[0] for t in texts] == ["[INFO] status", "[INFO] status"]
    assert fake.messages.total == 2


def test_a_bot_without_commands_reads_no_messages() -> None:
    hub = OpsHub()
    with FakeTelegram() as fake, running(AlertsConfig(), hub, [telegram(fake)]):
        hub.emit(naked_leg())
        fake.wait_for(1)
    assert fake.polls.total == 0


def test_a_hanging_channel_does_not_slow_the_trading_loop_and_full_queues_drop() -> None:
    hub = OpsHub(events=100_000)
    with FakeWebhook() as hanging, FakeTelegram() as working:
        hanging.hang()
        channels = [webhook(hanging, timeout_ns=30 * S), telegram(working)]
        with running(AlertsConfig(queue_size=2), hub, channels) as service:
            hub.emit(naked_leg())
            hanging.calls.wait_for(1)  # the webhook holds its first request without an answer
            hub.emit(OpsEvent("hedge_failed", T0 + S, "bybit", "still read while the webhook hangs"))
            working.messages.wait_for_match(lambda m: "still read" in m["text"])
            steps_ns = []
            t_start = time.perf_counter_ns()
            for i in range(5000):  # a trading loop: a step, an event, a snapshot now and then
                t0 = time.perf_counter_ns()
                hub.emit(OpsEvent("breach", T0 + 2 * S + i, "", f"limit {i}", {"key": f"limit_{i}"}))
                if i % 50 == 0:
                    hub.publish(Snapshot("dry-run", "BTCUSDT", "USDT", T0 + 2 * S + i, T0 + i, ()))
                steps_ns.append(time.perf_counter_ns() - t0)
            total_ns = time.perf_counter_ns() - t_start
            # the loop never waited on the hanging send: all 5000 steps took less than the one send's 30 s
            # (a step is microseconds; how few is for benchmarks, not for a test on a shared machine)
            assert max(steps_ns) < total_ns < 30 * S
            assert hanging.calls.total == 1  # still the first request, unanswered
            counted(service, lambda c: c["dropped"] > 4000)  # the webhook's queue is full: dropped
            t_stop = time.monotonic()
        assert time.monotonic() - t_stop < 30.0  # stop(timeout_s=2) gave the hanging send up (not its 30 s)
        counters = service.counters()
        assert counters["sent"]["webhook"] == 0 and counters["sent"]["telegram"] >= 2


def test_secrets_stay_out_of_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="arb.ops.alerts")
    hub = OpsHub()
    with FakeTelegram() as tg, FakeWebhook() as hook:
        wrong_token = "999:WRONG-secret-token"
        bad_tg = TelegramSender(token=wrong_token, chat_id="1", base_url=tg.base_url, route="all", min_interval_ns=0,
                                timeout_ns=5 * S)  # fmt: skip
        bad_hook = WebhookSender(url=hook.url + "-nope", route="all", min_interval_ns=0, timeout_ns=5 * S)
        with running(AlertsConfig(), hub, [bad_tg, bad_hook]) as service:
            hub.emit(naked_leg())
            counted(service, lambda c: c["failed"] == {"telegram": 1, "webhook": 1})
    assert "HTTP 401" in caplog.text and "HTTP 404" in caplog.text
    assert wrong_token not in caplog.text and hook.secret not in caplog.text


def test_from_config_reads_the_secret_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = OpsHub()
    with FakeTelegram() as fake:
        table = {"token": "${ARB_TEST_TELEGRAM_TOKEN}", "chat_id": "7", "base_url": fake.base_url, "min_interval_ms": 0}
        config = load_config(write_config_files(tmp_path, arbitrage_overrides={"alerts": {"telegram": table}}))
        monkeypatch.delenv("ARB_TEST_TELEGRAM_TOKEN", raising=False)
        assert AlertService.from_config(config, hub, mode="dry-run") is None  # its token is unset: off
        monkeypatch.setenv("ARB_TEST_TELEGRAM_TOKEN", fake.token)
        disabled = load_config(write_config_files(tmp_path / "off", arbitrage_overrides={
            "alerts": {"enabled": False, "telegram": table}}))  # fmt: skip
        assert AlertService.from_config(disabled, hub, mode="dry-run") is None
        service = AlertService.from_config(config, hub, mode="dry-run")
        assert service is not None and service.channel_names == ["telegram"]
        service.start()
        try:
            service.notify(Alert.test())
            [message] = fake.wait_for(1)
            assert message["chat_id"] == "7" and "[CRITICAL] test" in message["text"]
        finally:
            service.stop()
        assert service.counters() == {"sent": {"telegram": 1}, "failed": {"telegram": 0},
                                      "rate_limited": {"telegram": 0}, "suppressed": 0, "dropped": 0}  # fmt: skip


def test_watch_starts_the_alerts_and_stops_them_after_the_last_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTelegram() as fake:
        monkeypatch.setenv("ARB_TEST_TELEGRAM_TOKEN", fake.token)
        table = {"token": "${ARB_TEST_TELEGRAM_TOKEN}", "chat_id": "5", "base_url": fake.base_url, "min_interval_ms": 0}
        overrides = {"ops": {"enabled": False}, "alerts": {"telegram": table}}
        watch = Watch(load_config(write_config_files(tmp_path, arbitrage_overrides=overrides)), "dry-run")
        assert watch.start() == ["alerts: telegram"]
        watch.halt("kill switch")
        fake.wait_for(1)
        watch.halt("")  # cleared just before the driver stops: stop() still sends it
        watch.stop()
        assert [m["text"].split("\n")[0] for m in fake.messages.items()] == [
            "[CRITICAL] trading halted: kill switch", "[RESOLVED] halt cleared"]  # fmt: skip
