"""What arb writes to stderr: today's terminal lines, or one JSON object per line for machines, and
never a secret in either.

``arb --log-format json COMMAND`` (or ``ARB_LOG_FORMAT=json`` in the environment) turns every log
record into one line of JSON on stderr, and so every line the command prints for a person there (fills,
account lines, HALTED, the report table): logger ``arb.console``, level WARNING for the lines printed
in red, INFO for the others. A running process's hub events (fills, order answers, rejects, breaches,
halts, resyncs, disconnects) come as records of logger ``arb.event`` too, each with its fields
(:mod:`arb.ops.eventlog`). stdout keeps the command's result, as in text mode. One line::

    {"time": "2026-11-23T15:04:05.123456Z", "ts_ns": 1795446245123456000, "level": "WARNING",
     "logger": "arb.execution.venue_executor", "message": "<venue> rejected arb-...: 170131 Insufficient balance.",
     "venue": "<venue>", "symbol": "BTCUSDT", "client_id": "arb-..."}

``time`` is RFC 3339 UTC (microseconds), ``ts_ns`` the same instant in int ns; ``event`` names the kind
of an ``arb.event`` record; the line a failing command ends on (``arb check: ...``, a bad option's
line included) is a record of logger ``arb``, level ERROR, with the process's ``exit_code``; the
structured fields (:data:`FIELDS`) come from the log call's ``extra=`` or the event, and an event's
every field is in ``data`` too. An exception's traceback is in ``exc``.

Secrets. Every value a :class:`~arb.config.Secret` resolves to (API keys and secrets, the Telegram
token, the webhook URL, the SMTP password, read from the environment or a ``*_FILE``) is remembered
here as it is read and when the configuration loads, and so is every environment variable whose name
says it holds one (``..._KEY``, ``..._SECRET``, ``..._TOKEN``, ``..._PASSWORD``, ``..._WEBHOOK...``, ...).
Both formats replace each remembered value (and a URL's host-and-path and path, so a token in a URL
path is caught however the URL is printed) with ``***`` in the message, the traceback and every field,
before anything is written. Values shorter than :data:`MIN_SECRET_LENGTH` are not credentials a venue
issues and are not remembered (they would blank out ordinary text).
"""

from __future__ import annotations

__all__ = [
    "FIELDS",
    "FORMATS",
    "MIN_SECRET_LENGTH",
    "JsonFormatter",
    "RedactingFormatter",
    "console_for_json",
    "redact",
    "remember_environment",
    "remember_secret",
    "structured",
]

import datetime as dt
import io
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from rich.console import Console

FORMATS: Final = ("text", "json")
"""``--log-format`` values (and ``ARB_LOG_FORMAT``'s)."""

FIELDS: Final = (
    "event", "venue", "market", "symbol", "client_id", "order_id", "pair_id", "trade_id", "side", "qty", "price",
    "status", "code", "reason", "kind", "endpoint", "resolved", "exit_code",
)  # fmt: skip
"""Structured fields a JSON line carries when the record has them (``extra=`` or a hub event)."""

MIN_SECRET_LENGTH: Final = 6
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSW|PASSPHRASE|WEBHOOK|CREDENTIAL|PRIVATE", re.IGNORECASE)
_REPLACEMENT: Final = "***"

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, so a value containing another is replaced whole
_structured = False


def remember_secret(value: str | None) -> None:
    """Never write ``value`` (nor, for a URL, its host-and-path or its path) in a log line."""
    global _secrets
    if not value:
        return
    found = {value.strip()}
    if "://" in value:
        parts = urlsplit(value.strip())
        rest = value.strip().split("://", 1)[1]
        found |= {rest, parts.path + (f"?{parts.query}" if parts.query else "")}
    found = {v for v in found if len(v) >= MIN_SECRET_LENGTH and v != "/"}
    with _lock:
        if found <= set(_secrets):
            return
        _secrets = tuple(sorted(set(_secrets) | found, key=len, reverse=True))


def remember_environment(environ: Mapping[str, str] | None = None) -> None:
    """Remember the value of every environment variable whose name says it holds a credential."""
    for name, value in (os.environ if environ is None else environ).items():
        if _SECRET_NAME.search(name) and not name.endswith("_FILE"):
            remember_secret(value)


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _REPLACEMENT)
    return text


def structured() -> bool:
    """True when log lines are JSON objects (``--log-format json``): the watchers log hub events too."""
    return _structured


class RedactingFormatter(logging.Formatter):
    """The terminal's format (``logging.Formatter``), with every remembered secret replaced."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line, secrets replaced (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        ts_ns = int(record.created * 1e9)
        when = dt.datetime.fromtimestamp(record.created, dt.UTC)
        line: dict[str, Any] = {
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "ts_ns": ts_ns,
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is None or value == "":
                continue
            line[name] = _plain(value)
        data = record.__dict__.get("data")
        if isinstance(data, Mapping):  # every field of a hub event, beside the ones above
            line["data"] = {str(k): _plain(v) for k, v in data.items()}
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False, allow_nan=False, default=str)


def _plain(value: Any) -> Any:
    # a JSON value: a string redacted, a finite number or a bool as is, anything else as its text
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return redact(str(value))


class _LineSink(io.TextIOBase):
    """A console's file whose every complete line becomes a log record of ``arb.console``."""

    def __init__(self) -> None:
        super().__init__()
        self.level = logging.INFO
        self._partial = ""
        self._log = logging.getLogger("arb.console")

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self._log.log(self.level, line.rstrip())
        return len(text)

    def flush(self) -> None:
        if self._partial.strip():
            self._log.log(self.level, self._partial.rstrip())
        self._partial = ""


def console_for_json() -> Console:
    """A rich console whose output becomes ``arb.console`` log records (one per line), for the
    commands that print for a person while logs are JSON: its lines printed in red are warnings."""
    from rich.console import Console

    sink = _LineSink()

    class _JsonConsole(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            red = any(isinstance(o, str) and "red]" in o for o in objects)
            sink.level = logging.WARNING if red else logging.INFO
            try:
                super().print(*objects, **kwargs)
            finally:
                sink.flush()
                sink.level = logging.INFO

    file: Any = sink  # a text stream, as rich writes to it
    return _JsonConsole(file=file, width=10_000, no_color=True, highlight=False, emoji=False, soft_wrap=True)


def setup(log_format: str, level: int) -> None:
    """Install the root logger's one handler: the terminal's lines (through ``arb.ui``'s console, so a
    line never lands inside a progress bar) or JSON lines on stderr; both redact secrets. With JSON, the
    console the commands print on becomes :func:`console_for_json`'s. Does nothing to a root logger
    that already has handlers (a test's)."""
    global _structured
    remember_environment()
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, got {log_format!r}")
    from arb import ui

    if log_format == "json":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        if not root.handlers:
            _structured = True
            ui.console = console_for_json()
    else:
        handler = ui.ConsoleLogHandler()  # rich's console, made when a line is first logged
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname).1s %(name)s: %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler])
