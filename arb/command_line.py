"""What every command-line value must be, checked while the command line is parsed.

Each option names its kind with ``type=`` (a function below); a value of the wrong kind, an unknown
choice, a missing required option or an unknown option is answered by :class:`ArgumentParser` the
way a configuration mistake is, one line and exit code 2, before anything is loaded or connected::

    arb dry-run: --speed: expected a number > 0 (1 is real time) or max, got 'fast'

Every validator raises ``argparse.ArgumentTypeError`` with ``expected <what>, got <value>``; the
parser puts the option's name in front. This module imports nothing heavy: ``arb --help`` stays quick.
"""

from __future__ import annotations

__all__ = [
    "ArgumentParser",
    "Command",
    "CommandLineError",
    "add_config_argument",
    "add_recordings_out",
    "check_default",
    "config_file",
    "day",
    "days_begun",
    "duration",
    "each_once",
    "existing_file",
    "existing_folder",
    "exit_codes_help",
    "integer_between",
    "npz_output",
    "number_between",
    "output_file",
    "output_folder",
    "parse_duration",
    "positive_decimal",
    "reason",
    "recordings_out",
    "report_folder",
    "setting",
    "speed",
    "symbol",
]

import argparse
import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from arb.errors import UsageError

NS_PER_S = 1_000_000_000
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?")
_UNIT_NS = {"ms": NS_PER_S // 1000, "s": NS_PER_S, "m": 60 * NS_PER_S, "h": 3600 * NS_PER_S}
_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
_SETTING_KEY = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+")
_ARGUMENT = re.compile(r"argument (\S+): (.*)", re.DOTALL)
_CHOICE = re.compile(r"invalid choice: (.*) \(choose from (.*)\)", re.DOTALL)


class CommandLineError(UsageError):
    """A value on the command line is not what its option expects; the message starts with the command."""


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose mistakes are a :class:`CommandLineError` (exit 2, one line, no usage dump).

    Sub-command parsers made by :meth:`add_subparsers` are of this class too.
    """

    def error(self, message: str) -> NoReturn:
        """Raise the one-line answer: ``<prog>: <option>: expected <what>, got <value>``."""
        raise CommandLineError(f"{self.prog}: {_reword(message)}")

    def parse_args(  # type: ignore[override]  # one signature: arb never passes a namespace
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse, and name the sub-command an unknown option was given to."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            raise CommandLineError(f"{prog}: unrecognized arguments: {' '.join(extras)} (see {prog} --help)")
        return parsed


def _reword(message: str) -> str:
    # argparse's wording, put in the configuration errors' shape: "<option>: expected ..., got ...".
    match = _ARGUMENT.fullmatch(message)
    if match is None:
        if message.startswith("the following arguments are required: "):
            return f"{message.split(': ', 1)[1]}: expected a value (required)"
        return message
    option, text = match.groups()
    choice = _CHOICE.fullmatch(text)
    if choice is not None:
        text = f"expected one of {choice.group(2).replace(chr(39), '')}, got {choice.group(1)}"
    elif text == "expected one argument":
        text = f"expected a value (one that starts with '-' goes after '=': {option.split('/')[-1]}=-1)"
    return f"{option}: {text}"


def _fail(what: str, text: str, why: str = "") -> NoReturn:
    raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}{why}")


# -- numbers and times ------------------------------------------------------------------------------


def parse_duration(text: str) -> int:
    """``"90s"``, ``"10m"``, ``"1.5h"``, ``"250ms"`` or a bare number of seconds -> int ns.

    Raises ``ValueError`` for anything else or a duration that is not positive.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"expected a duration such as 90s, 10m or 1.5h, got {text!r}")
    value = float(match.group(1)) * _UNIT_NS[match.group(2) or "s"]
    if value <= 0:
        raise ValueError(f"expected a positive duration, got {text!r}")
    return int(value)


def duration(text: str) -> int:
    """A positive duration (``90s``, ``10m``, ``1.5h``, ``250ms``, seconds when bare) -> int ns."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        _fail(what, text)
    if not math.isfinite(value):
        _fail(what, text)
    return value


def number_between(low: float, high: float) -> Callable[[str], float]:
    """A validator for a number from ``low`` to ``high`` inclusive (a time in the option's unit, say)."""
    what = f"a number from {low:,g} to {high:,g}"

    def check(text: str) -> float:
        value = _number(text, what)
        if not low <= value <= high:
            _fail(what, text)
        return value

    check.__name__ = f"number_from_{low:g}_to_{high:g}"
    return check


def integer_between(low: int, high: int) -> Callable[[str], int]:
    """A validator for a whole number from ``low`` to ``high`` inclusive (``1,000`` and ``1_000`` read as 1000)."""
    what = f"a whole number from {low:,} to {high:,}"

    def check(text: str) -> int:
        digits = text.strip().replace(",", "").replace("_", "")
        if not re.fullmatch(r"[+-]?\d{1,19}", digits):
            _fail(what, text)
        value = int(digits)
        if not low <= value <= high:
            _fail(what, text)
        return value

    check.__name__ = f"integer_from_{low}_to_{high}"
    return check


def speed(text: str) -> float:
    """A replay speed: a finite number > 0 (1 is real time, 10 ten times faster), or ``max`` -> ``math.inf``."""
    what = "a number > 0 (1 is real time, 10 ten times faster) or max"
    if text.strip().lower() == "max":
        return math.inf
    value = _number(text, what)
    if value <= 0:
        _fail(what, text)
    return value


def positive_decimal(text: str) -> Decimal:
    """A finite decimal number > 0, kept exact (quantities and prices as typed)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        _fail("a number > 0", text)
    if not value.is_finite() or value <= 0 or not math.isfinite(float(value)):
        _fail("a number > 0", text)
    return value


def day(text: str) -> dt.date:
    """A UTC day, ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail("a date like 2024-08-08", text)


def symbol(text: str) -> str:
    """A venue symbol such as ``BTCUSDT`` (letters and digits; returned upper-case)."""
    if not _SYMBOL.fullmatch(text.upper()):
        _fail("a symbol of letters and digits such as BTCUSDT", text)
    return text.upper()


# -- files and folders ------------------------------------------------------------------------------


def reason(text: str) -> str:
    """A short reason in words (a halt's): not blank, one line, at most 200 characters."""
    if not text.strip() or "\n" in text or len(text) > 200:
        _fail("a reason in words (one line, 1-200 characters)", text)
    return text.strip()


def existing_file(noun: str) -> Callable[[str], Path]:
    """A validator for a file that must exist (``noun`` says which: "recording file")."""
    what = f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"

    def check(text: str) -> Path:
        path = Path(text)
        if path.is_dir():
            _fail(what, text, " (a folder)")
        if not path.is_file():
            _fail(what, text, f" (no such {noun})")
        return path

    check.__name__ = noun.replace(" ", "_")
    return check


config_file = existing_file("configuration file")
"""``--config``: the file must exist; what it holds is checked when it is loaded."""


@dataclass(frozen=True, slots=True)
class Command:
    """One ``arb`` command: its name, what runs it (``run(args)`` returns the exit code), its texts for
    ``--help`` and what adds its options to its parser (``arguments(parser)``). With ``config`` its first
    option is ``--config`` (:func:`add_config_argument`); without, ``arguments`` adds it where it belongs."""

    name: str
    run: Callable[[argparse.Namespace], int]
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    epilog: str | None = None
    config: bool = True

    def add_to(self, subparsers: Any) -> argparse.ArgumentParser:
        """Add the command to an ``argparse`` sub-command set (``parser.add_subparsers()``); returns its parser."""
        parser: argparse.ArgumentParser = subparsers.add_parser(
            self.name, help=self.help, description=self.description, epilog=self.epilog
        )
        if self.config:
            add_config_argument(parser)
        if self.arguments is not None:
            self.arguments(parser)
        parser.set_defaults(run=self.run)
        return parser


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--config PATH`` and ``--set KEY=VALUE`` every command that reads the configuration takes."""
    parser.add_argument(
        "--config", type=config_file, metavar="PATH", help="arbitrage.toml (default: config/arbitrage.toml)"
    )
    parser.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="change one key of the configuration for this run, over the file, checked as the file is: "
        "risk.position_limit=0.01, strategy.style=maker_taker; a venue file's key after its name: "
        "<venue>.fees.taker=0.00075 (a value as TOML writes it; a bare word is a string); repeatable",
    )


def setting(text: str) -> tuple[str, Any]:
    """``--set section.key=value``: (the dotted key, the value as TOML reads it: ``0.01``, ``true``,
    ``"text"``, ``["A", "B"]``; a value TOML cannot read is the text itself, so ``style=maker_taker``
    needs no quotes). What the key and value must be is the configuration's to say, when it loads."""
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or not _SETTING_KEY.fullmatch(key):
        _fail("section.key=value, such as risk.position_limit=0.01", text)
    try:
        parsed = tomllib.loads(f"value = {value.strip()}")
    except tomllib.TOMLDecodeError:
        return key, value.strip()
    return key, parsed["value"] if list(parsed) == ["value"] else value.strip()


def existing_folder(noun: str) -> Callable[[str], Path]:
    """A validator for a folder that must exist (``noun``: "a recordings folder")."""

    def check(text: str) -> Path:
        path = Path(text)
        if path.exists() and not path.is_dir():
            _fail(noun, text, " (a file)")
        if not path.is_dir():
            _fail(noun, text, " (no such folder)")
        return path

    check.__name__ = noun.removeprefix("a ").replace(" ", "_")
    return check


def _creatable(path: Path) -> str:
    # Why ``path`` (absent) could not be created, or "" when its nearest existing parent is a writable folder.
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                return f" ({parent} is a file)"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f" ({parent} is not writable)"
            return ""
    return ""


def output_folder(noun: str) -> Callable[[str], Path]:
    """A validator for a folder arb writes into (created if absent): not a file, and writable."""

    def check(text: str) -> Path:
        path = Path(text)
        if path.exists() and not path.is_dir():
            _fail(noun, text, " (an existing file)")
        if path.is_dir():
            if not os.access(path, os.W_OK | os.X_OK):
                _fail(noun, text, " (not writable)")
            return path
        why = _creatable(path)
        if why:
            _fail(noun, text, why)
        return path

    check.__name__ = noun.removeprefix("a ").replace(" ", "_")
    return check


def _writable_file(noun: str, text: str, path: Path) -> Path:
    # ``path`` (given as ``text``) if arb can write it: not a folder, its folder creatable.
    if path.is_dir():
        _fail(noun, text, f" ({path} is a folder)")
    why = _creatable(path)
    if why:
        _fail(noun, text, why)
    return path


def output_file(noun: str) -> Callable[[str], Path]:
    """A validator for a file arb writes (``noun``: "a .png file"): not a folder, its folder creatable."""

    def check(text: str) -> Path:
        return _writable_file(noun, text, Path(text))

    check.__name__ = noun.removeprefix("a ").replace(" ", "_")
    return check


def npz_output(text: str) -> Path:
    """``arb convert -o``: the ``.npz`` file to write, as named; a name without a suffix gets ``.npz`` (``-o
    day`` writes ``day.npz``). A folder, or a name with another suffix (``x.txt``: arb would write a file of
    another name than the one typed), is refused."""
    noun = "an output .npz file"
    path = Path(text)
    if path.is_dir():
        _fail(noun, text, f" ({path} is a folder)")
    if path.suffix and path.suffix != ".npz":
        _fail(noun, text, f" (it writes an .npz, not a {path.suffix} file: name it {path.with_suffix('.npz').name})")
    return _writable_file(noun, text, path if path.suffix else path.with_name(path.name + ".npz"))


def report_folder(out: Path | None, root: Path, mode: str) -> Path:
    """``--out`` as given, or a new timestamped folder ``<mode>-YYYYmmdd-HHMMSS`` under ``root``
    (``[backtest] out``), checked as ``--out`` would be."""
    if out is not None:
        return out
    default = root / dt.datetime.now().strftime(f"{mode}-%Y%m%d-%H%M%S")
    folder: Path = check_default(default, output_folder("a report folder"), "--out", "[backtest] out")
    return folder


def check_default(value: Any, validate: Callable[[str], Any], option: str, key: str) -> Any:
    """Validate a default taken from the configuration as the option would be, naming both."""
    try:
        return validate(str(value))
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{option} (default from {key}): {exc}") from None


def days_begun(start: dt.date, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """``--start`` and ``--end`` of a download (``end`` None: ``start``), both inclusive UTC days;
    :class:`UsageError` when ``--end`` is before ``--start`` or ``--start`` has not begun."""
    last = end or start
    if last < start:
        raise UsageError(f"--end: expected a day on or after --start ({start}), got {last}")
    today = dt.datetime.now(dt.UTC).date()
    if start > today:
        raise UsageError(f"--start: expected a day that has begun (today is {today} UTC), got {start}")
    return start, last


def each_once(values: list[str], option: str) -> list[str]:
    """``values`` as given; :class:`UsageError` naming ``option`` when one is there more than once."""
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise UsageError(f"{option}: expected each symbol once, got {' '.join(twice)} more than once")
    return values


_RECORDINGS_OUT = output_folder("a recordings folder")


def add_recordings_out(parser: argparse.ArgumentParser) -> None:
    """The ``--out DIR`` of a command that writes into the recordings (see :func:`recordings_out`)."""
    parser.add_argument(
        "--out", type=_RECORDINGS_OUT, metavar="DIR", help="recordings folder (default: [backtest] recordings)"
    )


def recordings_out(out: Path | None, recordings: Path) -> Path:
    """``--out`` as given, or ``[backtest] recordings`` (``recordings``) checked as ``--out`` would be."""
    folder: Path = out or check_default(recordings, _RECORDINGS_OUT, "--out", "[backtest] recordings")
    return folder


def exit_codes_help(one: str, more: str = "") -> str:
    """The exit codes of a command that talks to the venues, for its ``--help`` (``one``: what exit 1
    means for it; ``more``: its own codes, ``"78 ...; "``, before 130)."""
    return (
        f"Exit codes: 0 done; 1 {one}; 2 a bad value on the command line or in the configuration; 3 a venue "
        "refused what a person must fix (the API key or its permissions, the clock, an account setting; the "
        "one line says what to check); 4 a venue could not be reached or did not answer (connection refused, "
        f"timeout, HTTP 5xx, a rate limit or ban: the same command may work later); {more}130 Ctrl-C."
    )
