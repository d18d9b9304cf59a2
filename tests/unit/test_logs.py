"""Log lines for machines: one JSON object per record with its structured fields; the lines a command prints
for a person become records too; a remembered secret never appears in either format; a secret may come
from a file (``NAME_FILE``). A real ``arb live`` in JSON mode is scanned line by line in
``tests/integration/test_deploy_live.py``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from arb import logs
from arb.config import Secret
from arb.errors import ConfigError
from arb.ops.eventlog import EventLog
from arb.ops.snapshot import OpsEvent, OpsHub


def _record(msg: str, *args: object, level: int = logging.WARNING, exc: bool = False, **extra: object) -> str:
    fields = {"name": "arb.execution.live", "levelno": level, "levelname": logging.getLevelName(level)}
    record = logging.makeLogRecord({**fields, "msg": msg, "args": args, **extra})
    if exc:
        try:
            raise RuntimeError("boom " + str(args[0] if args else ""))
        except RuntimeError:
            record.exc_info = sys.exc_info()
    return logs.JsonFormatter().format(record)


def test_a_record_is_one_json_line_with_time_level_logger_message_and_its_fields() -> None:
    line = _record("%s rejected %s", "bybit", "arb-1-2-a", venue="bybit", symbol="BTCUSDT",
                   client_id="arb-1-2-a", pair_id=2, qty=0.01, unrelated="dropped")  # fmt: skip
    assert "\n" not in line
    data = json.loads(line)
    assert data["time"].endswith("Z") and data["time"][10] == "T"
    assert isinstance(data["ts_ns"], int) and abs(data["ts_ns"] / 1e9 - _epoch(data["time"])) < 1e-3
    assert (data["level"], data["logger"], data["message"]) == (
        "WARNING",
        "arb.execution.live",
        "bybit rejected arb-1-2-a",
    )
    assert (data["venue"], data["symbol"], data["client_id"], data["pair_id"], data["qty"]) == (
        "bybit", "BTCUSDT", "arb-1-2-a", 2, 0.01,
    )  # fmt: skip
    assert "unrelated" not in data and "event" not in data


def _epoch(text: str) -> float:
    import datetime as dt

    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()


def test_a_remembered_secret_is_replaced_in_the_message_the_fields_and_the_traceback() -> None:
    secret = "unit-SECRET-0123456789abcdef"
    url = "https://hooks.example.com/services/T0/B0/unitWebhookToken42"
    logs.remember_secret(secret)
    logs.remember_secret(url)
    line = _record("signing with %s for %s", secret, "hooks.example.com/services/T0/B0/unitWebhookToken42",
                   exc=True, reason=f"key={secret}", code=url)  # fmt: skip
    data = json.loads(line)
    assert secret not in line and "unitWebhookToken42" not in line
    assert data["message"] == "signing with *** for ***" and data["reason"] == "key=***" and data["code"] == "***"
    assert "RuntimeError: boom ***" in data["exc"]
    text = logs.RedactingFormatter("%(message)s").format(
        logging.makeLogRecord({"msg": f"POST /services/T0/B0/unitWebhookToken42 {secret}"})
    )
    assert text == "POST *** ***"  # the terminal's lines too; a URL's path alone is caught


def test_short_values_and_names_that_hold_no_credential_are_not_remembered() -> None:
    environ = {"ARB_UNIT_API_KEY": "envKeyValue-42", "ARB_UNIT_COLOR": "notSecret-42", "ARB_UNIT_TOKEN": "abc",
               "ARB_UNIT_KEY_FILE": "/run/secrets/notSecret-path"}  # fmt: skip
    logs.remember_environment(environ)
    assert logs.redact("envKeyValue-42 notSecret-42 abc /run/secrets/notSecret-path") == (
        "*** notSecret-42 abc /run/secrets/notSecret-path"
    )


def test_the_console_of_a_json_run_turns_each_printed_line_into_a_record(caplog: pytest.LogCaptureFixture) -> None:
    console = logs.console_for_json()
    with caplog.at_level(logging.INFO, logger="arb.console"):
        console.print("fill binance buy  0.01 @ 60000 fee 0.6 (pair 1)", highlight=False)
        console.print("[bold red]HALTED[/] (kill switch): no new pair\nsecond line", highlight=False)
    records = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "arb.console"]
    assert records == [
        ("INFO", "fill binance buy  0.01 @ 60000 fee 0.6 (pair 1)"),
        ("WARNING", "HALTED (kill switch): no new pair"),
        ("WARNING", "second line"),
    ]


def test_hub_events_become_records_with_their_fields_in_order(caplog: pytest.LogCaptureFixture) -> None:
    hub = OpsHub()
    hub.emit(OpsEvent("info", 1, text="before the start: not logged"))
    events = EventLog(hub, interval_s=3600)  # no timed pass: stop() drains
    events.start()
    fields = {"side": "buy", "qty": 0.01, "price": 60000.0, "status": "filled", "symbol": "BTCUSDT",
              "client_id": "arb-r1-1-0", "order_id": 1, "pair_id": 1, "latency_ns": 1200}  # fmt: skip
    hub.emit(OpsEvent("order", 2, "binance", "binance buy 0.01 @ 60000: filled", fields))
    hub.emit(OpsEvent("halt", 3, text="trading halted: kill switch", fields={"reason": "kill switch"}))
    hub.emit(OpsEvent("stale", 4, "bybit", "bybit BTCUSDT fresh again", {"symbol": "BTCUSDT"}, resolved=True))
    with caplog.at_level(logging.INFO, logger="arb.event"):
        events.stop()
    got = [r for r in caplog.records if r.name == "arb.event"]
    assert [(r.levelname, r.getMessage()) for r in got] == [
        ("INFO", "binance buy 0.01 @ 60000: filled"),
        ("ERROR", "trading halted: kill switch"),
        ("INFO", "bybit BTCUSDT fresh again"),
    ]
    line = json.loads(logs.JsonFormatter().format(got[0]))
    assert (line["event"], line["venue"], line["symbol"], line["client_id"], line["pair_id"]) == (
        "order", "binance", "BTCUSDT", "arb-r1-1-0", 1,
    )  # fmt: skip
    assert line["data"]["latency_ns"] == 1200 and "resolved" not in line
    assert json.loads(logs.JsonFormatter().format(got[2]))["resolved"] is True
    assert events.logged == 3


def test_a_secret_may_come_from_the_file_its_name_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = Secret.parse("${ARB_UNIT_FILE_KEY}", file="binance.toml", key="api_key")
    monkeypatch.delenv("ARB_UNIT_FILE_KEY", raising=False)
    holder = tmp_path / "binance-key"
    holder.write_text("fileKeyValue-0123456789\n")
    monkeypatch.setenv("ARB_UNIT_FILE_KEY_FILE", str(holder))
    assert secret.is_set() and secret.resolve() == "fileKeyValue-0123456789"
    assert logs.redact("key fileKeyValue-0123456789") == "key ***"  # remembered as it was read
    assert repr(secret) == "Secret(${ARB_UNIT_FILE_KEY})"

    monkeypatch.setenv("ARB_UNIT_FILE_KEY", "other")
    with pytest.raises(
        ConfigError, match="expected one of ARB_UNIT_FILE_KEY and ARB_UNIT_FILE_KEY_FILE to be set, got both"
    ):
        secret.resolve()
    monkeypatch.delenv("ARB_UNIT_FILE_KEY")
    monkeypatch.setenv("ARB_UNIT_FILE_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError) as info:
        secret.resolve()
    assert str(info.value) == (
        f"binance.toml: api_key: expected ARB_UNIT_FILE_KEY_FILE to name a readable file, {tmp_path / 'missing'}: "
        "No such file or directory"
    )
    (tmp_path / "empty").write_text("\n")
    monkeypatch.setenv("ARB_UNIT_FILE_KEY_FILE", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="to hold the value, got an empty file"):
        secret.resolve()
    monkeypatch.delenv("ARB_UNIT_FILE_KEY_FILE")
    assert not secret.is_set()
    with pytest.raises(ConfigError, match=r"expected environment variable ARB_UNIT_FILE_KEY to be set \(or ARB_UNIT"):
        secret.resolve()


def test_a_bad_log_format_is_exit_2_naming_the_option_or_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from arb.cli import main

    assert main(["--log-format", "xml", "check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("arb: --log-format: expected") and "xml" in err and "\n" not in err
    monkeypatch.setenv("ARB_LOG_FORMAT", "yaml")
    assert main(["check"]) == 2
    assert capsys.readouterr().err.strip() == "arb: ARB_LOG_FORMAT: expected text or json, got 'yaml'"
