"""How a configuration field is declared, described and checked: its msgspec type is its one rule.

Every section is a frozen :class:`ConfigStruct` (a ``msgspec.Struct`` that rejects unknown keys). A
field declares what it accepts in its type, which msgspec enforces when a file is decoded:

- ``Annotated[float, Meta(ge=0)]``, ``Annotated[int, Meta(ge=1, le=50)]``: a number and its range;
- ``Literal["ioc", "limit"]``: one of the choices;
- ``Annotated[str, Meta(pattern=r"\\A[A-Z0-9]+\\Z", description="upper-case letters and digits")]``: a
  spelling, with the words that describe it in messages (msgspec searches, so patterns are anchored);
- ``Annotated[tuple[str, ...], Meta(min_length=1)]``: a non-empty list of strings;
- ``tuple[Literal["a", "b"], ...]``: a list of those choices;
- ``Secret | None``, ``Path``, and a nested section (another ``ConfigStruct``).

Times are int64 nanoseconds: a field named ``*_ns`` whose TOML name (``field(name="cooldown_ms")``) ends
in ``_ms``, ``_s`` or ``_h`` is written in that unit in TOML, a whole number unless its metadata holds
:data:`FRACTIONAL`; its bounds are in nanoseconds. :data:`URLS`-style ``extra`` metadata (``{"urls":
("ws", "wss")}``) asks for URLs of those schemes.

What msgspec cannot express is checked here, for every field of every object however it was made
(decoded, built in code, or changed with ``msgspec.structs.replace``): a float must be finite, an int
must fit in int64, a URL must have its scheme and a host. :meth:`ConfigStruct.__post_init__` runs these
checks (:func:`check_fields`), then the section's own rules involving several fields (``_rules``).

Messages say what a valid value looks like (:func:`expectation`): ``expected an integer between 1 and
50, got 51 (int)``, in the file's units (``an integer number of milliseconds > 0``) or in code's
(``an integer number of nanoseconds > 0``).
"""

from __future__ import annotations

__all__ = [
    "FRACTIONAL",
    "INT64_MAX",
    "BadValueError",
    "CodeConfigError",
    "ConfigStruct",
    "FieldError",
    "FieldSpec",
    "Fraction",
    "NonNegative",
    "NonNegativeInt",
    "Positive",
    "PositiveInt",
    "bad_value",
    "bare",
    "check_fields",
    "check_value",
    "code_value",
    "dict_types",
    "expectation",
    "fail",
    "fields_of",
    "from_toml",
    "got",
    "is_number",
    "shown",
    "spec_by_key",
    "struct_of",
    "toml_path",
]

import functools
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal, NoReturn, get_args, get_origin
from urllib.parse import urlsplit

import msgspec
from msgspec import NODEFAULT, Meta

from arb.config.secrets import Secret
from arb.errors import ConfigError
from arb.events import NS_PER_MS, NS_PER_S

FRACTIONAL: Final = Meta(extra={"fractional": True})
"""Metadata of a time field that TOML may write as a fractional number of its unit (latencies)."""

INT64_MAX: Final = 2**63 - 1

Positive = Annotated[float, Meta(gt=0)]
NonNegative = Annotated[float, Meta(ge=0)]
Fraction = Annotated[float, Meta(ge=0, le=1)]
PositiveInt = Annotated[int, Meta(gt=0)]
NonNegativeInt = Annotated[int, Meta(ge=0)]

_UNITS: Final = {"ms": NS_PER_MS, "s": NS_PER_S, "h": 3600 * NS_PER_S}
_UNIT_WORDS: Final = {"ms": "milliseconds", "s": "seconds", "h": "hours"}
_SIMPLE_KINDS: Final = {bool: "bool", int: "int", float: "float", str: "str", Path: "path"}


class CodeConfigError(ConfigError, ValueError):
    """A rule refused a value while an object was built in code: ``file`` is the class name, ``key`` the
    field path. A ``ValueError`` too, so that msgspec, decoding a file, reports it at the section's path
    (the loaders then name the file and the key as the file spells it)."""


class FieldError(CodeConfigError):
    """One field's own value refused (its type, range or the checks msgspec cannot express).

    ``field`` is the field's name and ``extra`` what was added to the expectation (``" that fits in
    int64"``), so that a loader can say it again in the file's units with the file's value."""

    def __init__(self, owner: str, field: str, expected: str, extra: str) -> None:
        super().__init__(owner, field, expected)
        self.field = field
        self.extra = extra


class BadValueError(Exception):
    """A value that does not fit its field; ``expected`` is the whole message (``expected ..., got ...``)."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def fail(obj: object, key: str, expected: str) -> NoReturn:
    """Raise the :class:`CodeConfigError` of a rule of ``obj`` refusing the field path ``key``."""
    raise CodeConfigError(type(obj).__name__, key, expected)


class ConfigStruct(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A section of the configuration: frozen, unknown keys rejected, every field checked on creation.

    ``_not_in_file`` names the fields a file never sets (a venue's name, the resolved symbols);
    ``_computed`` those computed from the others (a value passed in is replaced).
    """

    _not_in_file: ClassVar[frozenset[str]] = frozenset()
    _computed: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        check_fields(self)
        self._rules()

    def _rules(self) -> None:
        """The checks that involve several fields; each refusal through :func:`fail`."""


# --------------------------------------------------------------------------------------------------
# What a field is


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field as its type declares it.

    Attributes:
        name: The field's name in code (``cooldown_ns``).
        key: Its name in TOML (``cooldown_ms``).
        hint: A section's class; for any other field its declared type (``Annotated[...]``).
        kind: ``bool``, ``int``, ``float``, ``str``, ``path``, ``strs`` (a list of strings), ``choice``
            (a ``Literal``), ``choices`` (a list of them), ``secret``, ``section`` or ``custom`` (checked
            by its owner's rules).
        default: The default value, or ``msgspec.NODEFAULT`` when the field is required.
        ge, gt, le: Bounds, in the field's units (nanoseconds for times).
        min_length: Least number of items of a list.
        unit: ``"ms"``, ``"s"`` or ``"h"``: the TOML unit of a time; None otherwise.
        fractional: TOML may write the time as a fractional number of its unit.
        doc: What the spelling of a string must be (``Meta(description=...)``).
        urls: URL schemes a string (or each string of a list) must use; ``empty_ok``: ``""`` is allowed.
        missing: The message for the field missing from its table, when not the generic one.
        names, example: For a list of names (``Meta(extra={"names": ..., "example": ...})``): what they
            name (``"venue names"``) and a valid list as TOML writes it.
    """

    name: str
    key: str
    hint: Any
    kind: str
    default: Any
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    min_length: int | None = None
    unit: str | None = None
    fractional: bool = False
    doc: str = ""
    urls: tuple[str, ...] = ()
    empty_ok: bool = False
    missing: str = ""
    names: str = ""
    example: str = ""

    @property
    def mult(self) -> int:
        """Nanoseconds per TOML unit (1 when the field is no time)."""
        return _UNITS[self.unit] if self.unit else 1


def bare(hint: Any) -> Any:
    """``hint`` without its ``Annotated`` metadata and without ``msgspec.UnsetType`` in a union."""
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    sole = _without_unset(hint)
    return hint if sole is hint else bare(sole)


def _without_unset(hint: Any) -> Any:
    # ``X | UnsetType`` -> ``X``; any other type as it is.
    if get_origin(hint) in (types.UnionType, typing.Union):
        rest = [arg for arg in get_args(hint) if arg is not msgspec.UnsetType]
        if len(rest) == 1:
            return rest[0]
    return hint


def _metas(hint: Any) -> list[Meta]:
    # Every Meta of an Annotated type, outermost last; a union's Unset alternative is looked through.
    hint = _without_unset(hint)
    metas: list[Meta] = []
    while get_origin(hint) is Annotated:
        hint, *more = get_args(hint)
        metas = [m for m in more if isinstance(m, Meta)] + metas
    return metas


def struct_of(hint: Any) -> type[msgspec.Struct] | None:
    """The Struct class ``hint`` is (through ``Annotated`` and ``| UnsetType``), or None."""
    hint = bare(hint)
    return hint if isinstance(hint, type) and issubclass(hint, msgspec.Struct) else None


def dict_types(hint: Any) -> tuple[Any, Any] | None:
    """(key type, value type) of a dict or mapping type, or None."""
    hint = bare(hint)
    origin = get_origin(hint)
    if origin is dict or (isinstance(origin, type) and origin.__name__ == "Mapping"):
        key, value = get_args(hint)
        return key, value
    return None


def _kind(hint: Any) -> str:
    base = bare(hint)
    if base in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[base]
    origin, args = get_origin(base), get_args(base)
    if origin is Literal:
        return "choice"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and bare(args[0]) is str:
        return "strs"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and get_origin(bare(args[0])) is Literal:
        return "choices"
    if origin in (types.UnionType, typing.Union) and set(args) == {Secret, type(None)}:
        return "secret"
    if struct_of(base) is not None:
        return "section"
    return "custom"


def _spec(info: msgspec.structs.FieldInfo) -> FieldSpec:
    metas = _metas(info.type)
    extra: dict[str, Any] = {}
    for meta in metas:
        extra.update(meta.extra or {})

    def last(attr: str) -> Any:
        return next((getattr(m, attr) for m in reversed(metas) if getattr(m, attr) is not None), None)

    kind = _kind(info.type)
    suffix = info.encode_name.rpartition("_")[2]
    unit = suffix if info.name.endswith("_ns") and info.encode_name != info.name and suffix in _UNITS else None
    default = info.default if info.default_factory is NODEFAULT else info.default_factory()
    return FieldSpec(
        name=info.name,
        key=info.encode_name,
        hint=struct_of(info.type) if kind == "section" else _without_unset(info.type),
        kind=kind,
        default=default,
        ge=last("ge"),
        gt=last("gt"),
        le=last("le"),
        min_length=last("min_length"),
        unit=unit,
        fractional=bool(extra.get("fractional")),
        doc=last("description") or "",
        urls=tuple(extra.get("urls", ())),
        empty_ok=bool(extra.get("empty_ok")),
        missing=str(extra.get("missing", "")),
        names=str(extra.get("names", "")),
        example=str(extra.get("example", "")),
    )


@functools.cache
def _all_fields(cls: type[msgspec.Struct]) -> tuple[FieldSpec, ...]:
    return tuple(_spec(info) for info in msgspec.structs.fields(cls))


@functools.cache
def fields_of(cls: type[msgspec.Struct]) -> tuple[FieldSpec, ...]:
    """The fields of ``cls`` a file may set, in declaration order (cached per class)."""
    skip: frozenset[str] = getattr(cls, "_not_in_file", frozenset())
    return tuple(spec for spec in _all_fields(cls) if spec.name not in skip)


@functools.cache
def _by_key(cls: type[msgspec.Struct]) -> dict[str, FieldSpec]:
    return {spec.key: spec for spec in fields_of(cls)}


def spec_by_key(cls: type[msgspec.Struct], key: str) -> FieldSpec | None:
    """The field of ``cls`` that TOML spells ``key``, or None."""
    return _by_key(cls).get(key)


def toml_path(cls: type[msgspec.Struct], dotted: str) -> str:
    """A dotted field path (``feed.stale_after_ns``) as TOML spells it (``feed.stale_after_ms``)."""
    head, _, rest = dotted.partition(".")
    for spec in fields_of(cls):
        if spec.name == head:
            if rest and spec.kind == "section":
                return f"{spec.key}.{toml_path(spec.hint, rest)}"
            return f"{spec.key}.{rest}" if rest else spec.key
    return dotted


# --------------------------------------------------------------------------------------------------
# What a valid value looks like


def shown(x: float) -> str:
    """``x`` as messages write a bound or a setting: ``%g`` (``0.5``, ``1e+12``, ``5000``)."""
    return f"{x:g}"


def _range_text(spec: FieldSpec, scale: int) -> str:
    # Bounds are in the field's units; ``scale`` divides them into the file's (ns per ms for a time).
    ge, gt, le = (None if b is None else (b / scale if scale != 1 else b) for b in (spec.ge, spec.gt, spec.le))
    if ge is not None and le is not None:
        return f" between {shown(ge)} and {shown(le)}"
    parts = []
    if gt is not None:
        parts.append(f"> {shown(gt)}")
    if ge is not None:
        parts.append(f">= {shown(ge)}")
    if le is not None:
        parts.append(f"<= {shown(le)}")
    return (" " + " and ".join(parts)) if parts else ""


_KIND_WORDS: Final = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "path": "a path (string)",
    "secret": 'a string: "${ENV_VAR_NAME}" (recommended) or the literal value',
}


def expectation(spec: FieldSpec, *, toml: bool) -> str:
    """What a valid value looks like, e.g. ``a number >= 0`` or ``an integer number of milliseconds > 0``;
    ``toml`` speaks of the file's units, otherwise of the field's (nanoseconds)."""
    if spec.unit:
        if toml:
            what = ("a number of " if spec.fractional else "an integer number of ") + _UNIT_WORDS[spec.unit]
        else:
            what = "an integer number of nanoseconds"
        return what + _range_text(spec, spec.mult if toml else 1)
    if spec.kind == "choice":
        return "one of " + ", ".join(f'"{c}"' for c in get_args(bare(spec.hint)))
    if spec.kind == "choices":  # as TOML writes it: a list of quoted names
        choices = get_args(bare(get_args(bare(spec.hint))[0]))
        example = list(spec.default) if isinstance(spec.default, tuple) and spec.default else [choices[0]]
        return (f"a list of {spec.doc or 'names'}, each {' or '.join(json.dumps(c) for c in choices)} "
                f"(e.g. {json.dumps(example)})")  # fmt: skip
    if spec.kind == "strs" and spec.names:  # a list of names: say what names, and show one
        return f"a list of {spec.names}, e.g. {spec.example}"
    if spec.kind == "strs":
        what = "a non-empty list of strings" if spec.min_length else "a list of strings"
    else:
        what = _KIND_WORDS.get(spec.kind, f"a {getattr(spec.hint, '__name__', spec.hint)}")
    if spec.doc:
        what += f" of {spec.doc}"
    if spec.urls:
        what += " (" + " or ".join(f"{s}://" for s in spec.urls) + " URLs)"
    return what + _range_text(spec, 1)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (str, list, tuple)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return repr(value)


def got(value: Any) -> str:
    """``got <value> (<type>)`` as messages end: ``got "abc" (str)``, ``got true (bool)``, ``got a table (table)``."""
    kind = "table" if isinstance(value, dict) else type(value).__name__
    return f"got {_show(value)} ({kind})"


def bad_value(spec: FieldSpec, value: Any, *, toml: bool, extra: str = "") -> BadValueError:
    """The :class:`BadValueError` of ``value`` refused by ``spec`` (``extra`` follows the expectation)."""
    return BadValueError(f"expected {expectation(spec, toml=toml)}{extra}, {got(value)}")


# --------------------------------------------------------------------------------------------------
# Checking values


def is_number(value: Any, *, ints_only: bool = False) -> bool:
    """True for an int (not a bool) or, unless ``ints_only``, a finite float."""
    if isinstance(value, bool):  # bool is an int to Python, never a number to us
        return False
    if isinstance(value, int):
        return True
    return not ints_only and isinstance(value, float) and math.isfinite(value)


def code_value(hint: Any, value: Any) -> Any:
    """msgspec's hook for the types it does not know: an instance passes (a ``PosixPath`` for ``Path``),
    a non-empty string is a ``Path``; anything else (a secret that is no :class:`Secret`, an empty path)
    is refused."""
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    if hint is Path and isinstance(value, str) and value:
        return Path(value)
    raise TypeError(f"not a {getattr(hint, '__name__', hint)}")


def from_toml(spec: FieldSpec, value: Any, origin: tuple[str, str]) -> Any:
    """The value a TOML key gives its field, before msgspec checks it: a time in nanoseconds, a
    :class:`Secret` (recording ``origin``, the file and dotted key); any other value as it is (so is a
    value of the wrong kind, for msgspec to name). Raises :class:`BadValueError` for a malformed secret."""
    if spec.unit and is_number(value, ints_only=not spec.fractional):
        ns = value * spec.mult
        if isinstance(ns, float):
            return round(ns) if math.isfinite(ns) else value
        return ns
    if spec.kind == "secret" and isinstance(value, str):
        try:
            return Secret.parse(value, file=origin[0], key=origin[1])
        except ValueError as exc:
            raise bad_value(spec, value, toml=True, extra=f" ({exc})") from None
    return value


def _problem(spec: FieldSpec, value: Any) -> str | None:
    # What msgspec cannot check: None when the value is fine, else the text the expectation ends with.
    if spec.kind == "float" and not math.isfinite(value):
        return ""
    if spec.kind == "int" and abs(value) > INT64_MAX:
        return " that fits in int64 nanoseconds (under 292 years)" if spec.unit else " that fits in int64"
    if spec.urls:
        for url in value if spec.kind == "strs" else (value,):
            if not (spec.empty_ok and url == "") and not _is_url(url, spec.urls):
                return ""
    return None


def _is_url(text: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname)


def check_value(spec: FieldSpec, value: Any, *, toml: bool, origin: tuple[str, str] = ("<python>", "")) -> Any:
    """One value of ``spec`` checked and converted (a time to ns, an int to a float, a list to a tuple);
    ``toml``: written as in a file (times in the key's unit). Raises :class:`BadValueError`."""
    converted = from_toml(spec, value, origin) if toml else value
    if spec.kind == "section":
        if not isinstance(converted, spec.hint):
            raise bad_value(spec, value, toml=toml)
        return converted
    if spec.kind == "custom":
        return converted
    try:
        checked = msgspec.convert(converted, spec.hint, dec_hook=code_value)
    except msgspec.ValidationError:
        raise bad_value(spec, value, toml=toml) from None
    problem = _problem(spec, checked)
    if problem is not None:
        raise bad_value(spec, value, toml=toml, extra=problem)
    return checked


@dataclass(frozen=True, slots=True)
class _Checks:
    mirror: type[msgspec.Struct]  # the checked fields as a Struct msgspec validates an object against
    values: tuple[FieldSpec, ...]  # fields msgspec checks, then _problem
    by_name: dict[str, FieldSpec]
    sections: tuple[FieldSpec, ...]  # nested sections: of their class


@functools.cache
def _checks(cls: type[msgspec.Struct]) -> _Checks:
    specs = fields_of(cls)
    infos = {info.name: info for info in msgspec.structs.fields(cls)}
    values = tuple(s for s in specs if s.kind not in ("section", "custom"))
    # An UNSET attribute (a key a file table left out) reads as absent: a default lets it be.
    fields = [(s.name, infos[s.name].type, msgspec.UNSET) for s in values]
    mirror = msgspec.defstruct(f"_{cls.__name__}Checked", fields, kw_only=True)
    return _Checks(mirror, values, {s.name: s for s in values}, tuple(s for s in specs if s.kind == "section"))


def check_fields(obj: msgspec.Struct) -> None:
    """Check every field a file may set of ``obj`` against its type and the checks msgspec cannot make,
    converting in place what msgspec converts (an int to a float, a list to a tuple, a string to a
    ``Path``). Raises :class:`FieldError` (the class name as the file, the field as the key)."""
    cls = type(obj)
    checks = _checks(cls)
    given = {spec.name: getattr(obj, spec.name) for spec in checks.values}
    given = {name: value for name, value in given.items() if value is not msgspec.UNSET}
    try:
        checked = msgspec.convert(given, checks.mirror, dec_hook=code_value)
    except msgspec.ValidationError as exc:
        name = _first_field(str(exc))
        spec = next(s for s in checks.values if s.name == name)
        raise FieldError(cls.__name__, name, bad_value(spec, given[name], toml=False).expected, "") from None
    for name, before in given.items():
        spec = checks.by_name[name]
        value = getattr(checked, name)
        problem = _problem(spec, value)
        if problem is not None:
            expected = bad_value(spec, before, toml=False, extra=problem).expected
            raise FieldError(cls.__name__, name, expected, problem)
        if value is not before:
            msgspec.structs.force_setattr(obj, name, value)
    for spec in checks.sections:
        value = getattr(obj, spec.name)
        if value is not msgspec.UNSET and not isinstance(value, spec.hint):
            raise FieldError(cls.__name__, spec.name, bad_value(spec, value, toml=False).expected, "")


def _first_field(message: str) -> str:
    # "Expected `int` >= 1 - at `$.book_levels`" -> "book_levels" (a list's item: "$.ws[1]" -> "ws")
    path = message.rpartition(" - at `$.")[2]
    return path.split("`")[0].split("[")[0].split(".")[0]
