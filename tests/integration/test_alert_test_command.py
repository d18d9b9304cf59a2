"""``arb alert-test`` sends one message through every channel that is on, and says which took it."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.cli import main
from arb.testing.configs import write_config_files
from arb.testing.fake_alerts import FakeTelegram, FakeWebhook


def test_a_test_alert_reaches_each_channel_and_a_dead_one_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeTelegram() as telegram, FakeWebhook() as webhook:
        monkeypatch.setenv("ARB_TEST_TELEGRAM_TOKEN", telegram.token)
        monkeypatch.setenv("ARB_TEST_WEBHOOK_URL", webhook.url)
        alerts = {"telegram": {"token": "${ARB_TEST_TELEGRAM_TOKEN}", "chat_id": "42", "base_url": telegram.base_url},
                  "webhook": {"url": "${ARB_TEST_WEBHOOK_URL}"}}  # fmt: skip
        config = write_config_files(tmp_path, arbitrage_overrides={"alerts": alerts})
        assert main(["alert-test", "--config", str(config)]) == 0
        sent = telegram.messages.items()
        assert [m["chat_id"] for m in sent] == ["42"]
        assert "test alert" in sent[0]["text"]
        assert len(webhook.bodies.items()) == 1
        out = capsys.readouterr().out
        assert "telegram: sent" in out and "webhook: sent" in out
        assert telegram.token not in out

    # the same configuration once the webhook is gone: the command says which channel failed
    with FakeTelegram() as telegram:
        monkeypatch.setenv("ARB_TEST_TELEGRAM_TOKEN", telegram.token)
        monkeypatch.setenv("ARB_TEST_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # nothing listens on port 9
        alerts["telegram"]["base_url"] = telegram.base_url
        config = write_config_files(tmp_path / "again", arbitrage_overrides={"alerts": alerts})
        assert main(["alert-test", "--config", str(config)]) == 1
        out = capsys.readouterr().out
        assert "telegram: sent" in out and "webhook: FAILED" in out


def test_no_channel_on_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config_files(tmp_path)
    assert main(["alert-test", "--config", str(config)]) == 2
    assert "no alert channel is on" in capsys.readouterr().err
