"""What the loaders say when a file is wrong: msgspec's errors, said the way arb says them.

msgspec reports the first problem it meets as a ``ValidationError`` whose text ends in the path of the
value (``Expected `int` >= 1 - at `$.strategy.book_levels```). :func:`decode` turns it into a
:class:`~arb.errors.ConfigError` naming the file, the dotted key as the file spells it and what was
expected, with the value the file holds::

    arbitrage.toml: strategy.book_levels: expected an integer between 1 and 50, got 51 (int)
    arbitrage.toml: strategy.min_sprad_bps: unknown key (did you mean "min_spread_bps"?); allowed keys ...
    bybit.toml: fees.maker: missing required key: expected a number between -0.01 and 0.01

The expectation comes from the field's declared type (:func:`arb.config.fields.expectation`), never from
msgspec's wording, so messages stay the same whatever msgspec says. msgspec writes a table keyed by the
user (``[symbols.<SYMBOL>]``, ``[endpoints.<market>.<network>]``) as ``[...]`` in its path; the entry
meant is the first one that does not convert, since msgspec stops at the first problem.
"""

from __future__ import annotations

__all__ = ["decode", "read_file", "unknown_key"]

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args, get_origin

import msgspec
from msgspec import NODEFAULT

from arb.config.fields import (
    CodeConfigError,
    FieldError,
    bare,
    code_value,
    dict_types,
    expectation,
    fields_of,
    got,
    spec_by_key,
    struct_of,
    toml_path,
)
from arb.errors import ConfigError

_AT: Final = re.compile(r" - at `(?P<path>[^`]*)`(?: in `(?P<within>[^`]*)`)?$", re.DOTALL)
_SEGMENT: Final = re.compile(r"\.([^.\[]+)|\[([^\]]*)\]")
_UNKNOWN: Final = re.compile(r"^Object contains unknown field `(?P<key>.*)`$", re.DOTALL)
_MISSING: Final = re.compile(r"^Object missing required field `(?P<key>.*)`$", re.DOTALL)
_ABSENT: Final = object()


def read_file(path: Path) -> bytes:
    """The bytes of a configuration file; a :class:`ConfigError` naming it when it cannot be read."""
    file = str(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(file, None, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(file, None, "expected a file, found a directory") from None
    except OSError as exc:
        raise ConfigError(file, None, f"cannot read the file: {exc.strerror or exc}") from None


def unknown_key(file: str, prefix: str, key: str, allowed: Sequence[str], *, qualified: bool = False) -> ConfigError:
    """The error of an unknown ``key`` in the table ``prefix`` (``"strategy."``, ``""`` at the top),
    suggesting the closest of ``allowed`` (with its table's path when ``qualified``) and listing them all."""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f' (did you mean "{prefix if qualified else ""}{close[0]}"?)' if close else ""
    where = f"[{prefix[:-1]}]" if prefix else "the top level"
    return ConfigError(file, prefix + key, f"unknown key{hint}; allowed keys in {where}: {', '.join(allowed)}")


def decode(typ: Any, source: Any, prepared: Any, file: str, prefix: str = "") -> Any:
    """``prepared`` (a file's table with its times in ns and its secrets parsed) decoded as ``typ`` by
    msgspec. ``source`` is the same table as the file writes it, for messages; ``prefix`` the dotted
    path of the table in its file. Raises :class:`ConfigError` naming ``file``, the key and what was
    expected."""
    try:
        return msgspec.convert(prepared, typ, dec_hook=code_value)
    except msgspec.ValidationError as exc:
        raise _error(exc, typ, source, prepared, file, prefix) from None


def _converts(value: Any, typ: Any) -> bool:
    try:
        msgspec.convert(value, typ, dec_hook=code_value)
    except msgspec.ValidationError:
        return False
    return True


def _error(exc: msgspec.ValidationError, typ: Any, source: Any, prepared: Any, file: str, prefix: str) -> ConfigError:
    text = str(exc)
    at = _AT.search(text)
    message = text[: at.start()] if at else text
    path = (at["within"] if at["within"] is not None else at["path"]) if at else "$"
    in_key = bool(at and at["within"] is not None)
    parts = [p for p in prefix.split(".") if p]
    leaf = None  # the field the path ends at
    for name, bracket in _SEGMENT.findall(path[1:]):
        if name:
            cls = struct_of(typ)
            leaf = spec_by_key(cls, name) if cls is not None else None
            if leaf is None:  # pragma: no cover - msgspec only names fields of the type
                break
            typ = leaf.hint
            parts.append(name)
            source, prepared = _item(source, name), _item(prepared, name)
            continue
        kv = dict_types(typ)
        if bracket != "..." or kv is None or not isinstance(prepared, dict):
            break  # an item of a list: the list's field is named
        key = next((k for k, v in prepared.items() if not (_converts(k, kv[0]) and _converts(v, kv[1]))), None)
        if key is None:  # pragma: no cover - msgspec refused one of them
            break
        parts.append(str(key))
        typ, source, prepared = kv[1], _item(source, key), prepared[key]
    dotted = ".".join(parts)
    return _said(exc, message, typ, leaf, dotted, source if source is not _ABSENT else prepared, prepared, file, in_key)


def _item(table: Any, key: Any) -> Any:
    return table.get(key, _ABSENT) if isinstance(table, dict) else _ABSENT


def _said(
    exc: msgspec.ValidationError,
    message: str,
    typ: Any,
    leaf: Any,
    dotted: str,
    value: Any,
    prepared: Any,
    file: str,
    in_key: bool,
) -> ConfigError:
    prefix = dotted + "." if dotted else ""
    cls = struct_of(typ)
    cause = exc.__cause__
    if in_key:
        return _key_error(typ, prefix, prepared, file)
    if cls is not None and (unknown := _UNKNOWN.match(message)):
        allowed = sorted(spec.key for spec in fields_of(cls))
        return unknown_key(file, prefix, unknown["key"], allowed)
    if cls is not None and (missing := _MISSING.match(message)):
        spec = spec_by_key(cls, missing["key"])
        if spec is not None and spec.missing and isinstance(prepared, dict):
            # a key other keys can stand for (symbol for symbols) is the last one said to be missing
            others = [s for s in fields_of(cls) if s.default is NODEFAULT and not s.missing and s.key not in prepared]
            spec = others[0] if others else spec
        expected = spec.missing if spec is not None and spec.missing else None
        if spec is not None and expected is None:
            expected = f"expected {expectation(spec, toml=True)}"
        return ConfigError(file, prefix + (spec.key if spec else missing["key"]), f"missing required key: {expected}")
    if cls is not None and isinstance(cause, FieldError):
        spec = next(s for s in fields_of(cls) if s.name == cause.field)
        shown = _item(value, spec.key)
        if shown is _ABSENT:
            shown = _item(prepared, spec.key)
        expected = f"expected {expectation(spec, toml=True)}{cause.extra}, {got(shown)}"
        return ConfigError(file, prefix + spec.key, expected)
    if cls is not None and isinstance(cause, CodeConfigError):
        return ConfigError(file, prefix + toml_path(cls, cause.key or ""), cause.expected)
    if cls is not None and not isinstance(value, dict):
        return ConfigError(file, dotted, f"expected a table [{dotted}], {got(value)}")
    kv = dict_types(typ)
    if kv is not None and not isinstance(value, dict) and struct_of(kv[1]) is None and dict_types(kv[1]) is None:
        return ConfigError(file, dotted, f"expected a table [{dotted}], {got(value)}")  # of values, not tables
    if kv is not None and not isinstance(value, dict):
        return ConfigError(file, dotted, f"expected [{dotted}.{_description(typ)}] tables, {got(value)}")
    if leaf is None:  # pragma: no cover - every other error names a field
        return ConfigError(file, dotted or None, f"expected a valid value: {message}")
    return ConfigError(file, dotted, f"expected {expectation(leaf, toml=True)}, {got(value)}")


def _key_error(typ: Any, prefix: str, table: Any, file: str) -> ConfigError:
    # A key of a table keyed by the user (a market, a network name) that its type refuses.
    kv = dict_types(typ)
    assert kv is not None and isinstance(table, dict)
    key = next(k for k in table if not _converts(k, kv[0]))
    key_type = kv[0]
    if get_origin(bare(key_type)) is Literal:
        return unknown_key(file, prefix, key, sorted(get_args(bare(key_type))))
    what = _description(typ).split(".")[-1].strip("<>")
    return ConfigError(file, prefix + key, f"expected a {what} name of {_description(key_type)}")


def _description(hint: Any) -> str:
    # The words a type's Meta gives it (a table keyed by users: "<market>.<network>").
    while get_origin(hint) is Annotated:
        hint, *metas = get_args(hint)
        for meta in reversed(metas):
            if isinstance(meta, msgspec.Meta) and meta.description:
                return meta.description
    return ""
