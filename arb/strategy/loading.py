"""The run's strategy from the configuration: ``[strategy] kernel`` loaded, ``[strategy.params]`` checked,
the strategy compiled for the seam's records, each mistake one answer before anything runs.

``[strategy] kernel`` (:func:`arb.config.sections.kernel_parts`) names the strategy:

- ``"package.module:Name"``: the object ``Name`` of a module imported from ``sys.path``, the current
  folder first (as ``python -m`` would find it);
- ``"path/to/file.py:Name"``: the object ``Name`` of a Python file, relative to the configuration file's
  folder (the loader made it absolute; :func:`load_strategy` takes the folder for paths still relative),
  imported with its own folder first on ``sys.path`` (so a helper module beside it imports);
- ``"taker"``, ``"maker_taker"``: a built-in strategy (:mod:`arb.strategy.builtin`).

Left out, each symbol runs the built-in that ``[strategy] style`` names. A loaded strategy is kept per
(kernel, folder) for the life of the process: every tool, driver and report of a run reads the same
object, and its module is imported once.

``[strategy.params]`` is checked against the strategy's ``params`` struct (:func:`params_for`): every key
one of its fields, every value of the field's type (``msgspec.convert``, strict: ``true`` is no number and
``5.0`` no integer; an integer is a number), every number finite.

Each mistake is a :class:`StrategyLoadError` (a :class:`~arb.errors.ConfigError`, exit 2 without a
traceback) naming the configuration file (``--set <key>`` when the command line set it), the key and
the strategy, in a few lines: a file that does not exist or a module not found, a module that does not
import (its file, its line, the exception), a missing or misnamed object, an object that is not a
:class:`~arb.strategy.seam.Strategy`, a ``decide`` or ``may_act`` that is no Numba-compiled function, a
parameter or memory layout arb cannot keep, a ``decide`` that does not compile for the seam's record
types or returns something other than the count of intents (its file, its line and the compiler's
reason, not Numba's whole report). All of them are found while a run is set up, so nothing reaches a
venue.
"""

from __future__ import annotations

__all__ = [
    "ParamError",
    "StrategyLoadError",
    "bind_checked",
    "describe_params",
    "load_strategy",
    "param_value",
    "params_for",
    "strategy_of",
    "strategy_record",
]

import contextlib
import dataclasses
import difflib
import functools
import hashlib
import importlib
import importlib.util
import keyword
import linecache
import math
import os
import re
import sys
import traceback
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import msgspec
import numpy as np

from arb._jit import plain
from arb.config import AppConfig, as_written
from arb.config.fields import got
from arb.config.sections import kernel_parts
from arb.errors import ConfigError, StrategyError
from arb.strategy.builtin import BUILTIN, builtin, builtin_keys, builtin_params, is_builtin
from arb.strategy.calls import decide_types, may_act_types
from arb.strategy.seam import Bound, Strategy, bind, params_dtype
from arb.strategy.types import INTENT_DTYPE, RULES_DTYPE, VIEW_DTYPE

_KERNEL_KEY: Final = "strategy.kernel"
_PARAMS_KEY: Final = "strategy.params"
_TYPE_WORDS: Final = {float: "a number", int: "an integer", bool: "true or false"}
_REASON_LINES: Final = 3
_LINE_CHARS: Final = 300
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")


class StrategyLoadError(ConfigError, StrategyError):
    """The run's strategy cannot run: it does not load, its parameters are wrong or it does not compile. A
    configuration error (``file`` and ``key`` as every one: the file or ``--set <key>``, the dotted key) and
    a :class:`~arb.errors.StrategyError` (exit 2); the message names the strategy."""


class ParamError(ValueError):
    """One value of ``[strategy.params]`` the strategy does not take: ``expected`` says what it takes (an
    unknown key: ``unknown``)."""

    def __init__(self, expected: str, *, unknown: bool = False) -> None:
        super().__init__(expected)
        self.expected = expected
        self.unknown = unknown


class _Unfit(Exception):  # noqa: N818 - a reason, raised to the caller that says where
    """What is wrong with a strategy, in words; :func:`strategy_of` says where the configuration names it."""


# --------------------------------------------------------------------------------------------------
# Loading


def load_strategy(spec: str, folder: str | Path = ".") -> Strategy:
    """The strategy ``[strategy] kernel`` ``spec`` names (module docstring), a relative file taken from
    ``folder``; the same object for the same (spec, folder). Raises :class:`StrategyLoadError` (file: the spec)
    when it cannot be loaded."""
    try:
        return _loaded(spec, str(Path(folder).resolve()))
    except _Unfit as refused:
        raise StrategyLoadError(spec, None, str(refused)) from None


def strategy_of(config: AppConfig) -> Strategy:
    """The strategy of ``config``'s first symbol: ``[strategy] kernel``'s when it is set (every symbol's
    then), else the built-in ``[strategy] style`` names. Raises :class:`StrategyLoadError` naming the file (or
    ``--set strategy.kernel``) and the key."""
    spec = config.strategy.kernel
    if not spec:
        return builtin(config.strategy.style)
    try:
        return _loaded(spec, str(config.path.parent))
    except _Unfit as refused:
        raise _error(config, _KERNEL_KEY, str(refused)) from None


@functools.lru_cache(maxsize=64)
def _loaded(spec: str, folder: str) -> Strategy:
    target, name, is_file = kernel_parts(spec)
    if not name:
        if target in BUILTIN:
            return builtin(target)
        raise _Unfit(f"strategy {spec!r}: expected a built-in strategy ({', '.join(BUILTIN)}), "
                     '"package.module:Name" or "path/to/file.py:Name"')  # fmt: skip
    where = f"strategy {spec!r}"
    module = _import_file(Path(folder) / Path(target).expanduser(), where) if is_file else _import_module(target, where)
    found = getattr(module, name, None)
    if found is None:
        raise _Unfit(f"{where}: {_shown_module(module, target)} has no {name}{_suggestion(module, name)}")
    if not isinstance(found, Strategy):
        kind = type(found).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise _Unfit(f"{where}: {name} is {article} {kind}, not a Strategy: declare {name} = Strategy(name=..., "
                     "decide=...) (from arb.strategy.seam import Strategy)")  # fmt: skip
    _check_declaration(found, where)
    return dataclasses.replace(found, origin=spec)


def _shown_module(module: ModuleType, target: str) -> str:
    file = getattr(module, "__file__", None)
    return str(file) if file and target.endswith(".py") else f"module {target}"


def _suggestion(module: ModuleType, name: str) -> str:
    # " (did you mean "Z"?); its strategies: Z, W" or "; it declares no Strategy"
    strategies = [key for key, value in vars(module).items() if isinstance(value, Strategy) and not key.startswith("_")]
    if not strategies:
        return "; it declares no Strategy (Name = Strategy(name=..., decide=...))"
    close = difflib.get_close_matches(name, strategies, n=1, cutoff=0.5)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f"{hint}; its strategies: {', '.join(strategies)}"


@contextlib.contextmanager
def _first_on_path(folder: str) -> Iterator[None]:
    # ``folder`` first on sys.path while a strategy imports (taken away again, once).
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def _import_module(target: str, where: str) -> ModuleType:
    with _first_on_path(os.getcwd()):
        try:
            return importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (target == exc.name or target.startswith(exc.name + ".")):
                raise _Unfit(f"{where}: no module named {exc.name} (looked in the current folder "
                             f"{os.getcwd()}, then sys.path)") from None  # fmt: skip
            raise _Unfit(_import_failure(exc, where, None)) from None
        except Exception as exc:  # noqa: BLE001 - the user's module raised while importing: said, no traceback
            raise _Unfit(_import_failure(exc, where, None)) from None


def _import_file(path: Path, where: str) -> ModuleType:
    path = path.resolve()
    if not path.exists():
        raise _Unfit(f"{where}: no such file {path}")
    if not path.is_file() or path.suffix != ".py":
        raise _Unfit(f"{where}: expected a Python file (.py), {path} is {'a folder' if path.is_dir() else 'not one'}")
    name = _module_name(path)
    if name in sys.modules:  # this very file, imported already (by the user's own code, or a test kit)
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise _Unfit(f"{where}: {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before it runs: dataclasses and Numba look their module up by name
    with _first_on_path(str(path.parent)):
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the user's file raised while importing: said, no traceback
            del sys.modules[name]
            raise _Unfit(_import_failure(exc, where, path)) from None
    return module


def _module_name(path: Path) -> str:
    """The module name a strategy's file is imported under: its stem (``mystrat`` for ``mystrat.py``),
    as ``import mystrat`` beside it would name it, so that Numba's cache beside the file serves both (a
    cached function rebuilds its globals from its module by name); a name of its own when the stem is
    not an identifier or names another module (the standard library's, a package's, another file's)."""
    stem = path.stem
    if stem.isidentifier() and not keyword.iskeyword(stem):
        present = sys.modules.get(stem)
        if present is not None:
            if _same_file(getattr(present, "__file__", None), path):
                return stem
        else:
            with _first_on_path(str(path.parent)):
                try:
                    spec = importlib.util.find_spec(stem)
                except (ImportError, ValueError):
                    spec = None
            if spec is None or _same_file(spec.origin, path):
                return stem
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return f"_arb_strategy_{re.sub(r'[^0-9A-Za-z_]', '_', stem)}_{digest}"


def _same_file(file: str | None, path: Path) -> bool:
    return file is not None and Path(file).resolve() == path


def _import_failure(exc: BaseException, where: str, path: Path | None) -> str:
    """``where`` does not import: the file and line it failed at (the strategy's own file's last frame,
    else the last frame outside Python's and the installed packages'), the exception and that line."""
    if isinstance(exc, SyntaxError) and exc.filename:
        file, line, text = exc.filename, exc.lineno or 0, (exc.text or "").rstrip()
        what = f"SyntaxError: {exc.msg}"
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
        installed = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
        mine = [f for f in frames if path is not None and f.filename == str(path)]
        users = [f for f in frames if not f.filename.startswith(installed) and f.filename != __file__]
        chosen = mine or users or frames
        frame = chosen[-1] if chosen else None
        file, line = (frame.filename, frame.lineno or 0) if frame is not None else (str(path or "?"), 0)
        text = (frame.line or "") if frame is not None else ""
        what = _first_lines(f"{type(exc).__name__}: {exc}", 2)
    out = f"{where} does not import:\n  {file}, line {line}: {what}"
    return out + (f"\n      {text.strip()}" if text.strip() else "")


def _first_lines(text: str, n: int) -> str:
    lines = [line[:_LINE_CHARS] for line in _ANSI.sub("", text).strip().splitlines() if line.strip()]
    return "\n    ".join(lines[:n])


def _check_declaration(strategy: Strategy, where: str) -> None:
    # What the Strategy object declares, checked before anything is compiled.
    if not isinstance(strategy.name, str) or not strategy.name:
        raise _Unfit(f'{where}: expected a name (Strategy(name="...", ...)), {got(strategy.name)}')
    for role in ("decide", "may_act"):
        fn = getattr(strategy, role)
        if fn is None and role == "may_act":
            continue
        if not callable(fn):
            raise _Unfit(f"{where}: {role} is a {type(fn).__name__}: expected a Numba-compiled function")
        if not plain() and not _is_compiled(fn):
            raise _Unfit(f"{where}: {role} is a plain Python function: expected it compiled by Numba (decorate "
                         "it with @numba.njit(cache=True))")  # fmt: skip
    if strategy.params is not None:
        if not (isinstance(strategy.params, type) and issubclass(strategy.params, msgspec.Struct)):
            raise _Unfit(f"{where}: params is {strategy.params!r}: expected a msgspec.Struct class (class "
                         "Params(msgspec.Struct): window: int = 300)")  # fmt: skip
        try:
            params_dtype(strategy.params)
        except TypeError as exc:
            raise _Unfit(f"{where}: {exc}") from None
        missing = [f.name for f in msgspec.structs.fields(strategy.params) if f.required]
        if missing:
            raise _Unfit(f"{where}: parameter {missing[0]} has no default: expected a default for every parameter "
                         "(the configuration may leave any out)")  # fmt: skip
    memory = strategy.memory
    if memory is not None and (not isinstance(memory, np.dtype) or memory.names is None or memory.hasobject):
        raise _Unfit(f"{where}: memory is {memory!r}: expected a NumPy record dtype of numbers "
                     "(np.dtype([(\"mean\", \"f8\"), (\"n\", \"i8\")], align=True))")  # fmt: skip


def _is_compiled(fn: Any) -> bool:
    from numba.core.dispatcher import Dispatcher

    return isinstance(fn, Dispatcher)


# --------------------------------------------------------------------------------------------------
# Parameters


def params_for(config: AppConfig, strategy: Strategy) -> Any:
    """``[strategy.params]`` of ``config`` as ``strategy``'s ``params`` struct (its defaults for the keys left
    out), or None for a strategy that declares none (then the table must be empty); a built-in's from the
    ``[strategy]`` keys it has always read (:func:`arb.strategy.builtin.builtin_params`: then the table must
    be empty too). Raises :class:`StrategyLoadError` naming the file (or ``--set strategy.params.<key>``),
    the key and what was expected: an unknown key, a value of the wrong type, a number that is not finite."""
    table = dict(config.strategy.params)
    struct = strategy.params
    if is_builtin(strategy):
        if table:
            key = next(iter(table))
            raise _error(config, f"{_PARAMS_KEY}.{key}", f"the built-in strategy {strategy.name!r} reads its "
                         f"parameters from [strategy] ({', '.join(builtin_keys(strategy))}): expected no "
                         "[strategy.params]")  # fmt: skip
        return builtin_params(config, strategy)
    if struct is None:
        if table:
            key = next(iter(table))
            raise _error(config, f"{_PARAMS_KEY}.{key}", f"strategy {strategy.name!r} declares no parameters "
                         "(no params=): expected no [strategy.params]")  # fmt: skip
        return None
    for key, value in list(table.items()):
        try:
            table[key] = param_value(strategy, key, value)
        except ParamError as bad:
            raise _error(config, f"{_PARAMS_KEY}.{key}", bad.expected) from None
    try:
        return msgspec.convert(table, struct, strict=True)
    except msgspec.ValidationError as exc:  # the struct's own check (__post_init__) refused the whole
        raise _error(config, _PARAMS_KEY, f"strategy {strategy.name!r} refused its parameters: {exc}") from None


def param_value(strategy: Strategy, key: str, value: Any) -> Any:
    """``value`` of parameter ``key`` of ``strategy`` as its ``params`` struct takes it (strict types, an
    integer for a number as a float, finite numbers). Raises :class:`ParamError`: an unknown key (with the
    closest one and those it takes), a value of the wrong type."""
    fields = {f.encode_name: f for f in msgspec.structs.fields(strategy.params)} if strategy.params else {}
    field = fields.get(key)
    if field is None:
        close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        takes = ", ".join(fields) or "none (it declares no params=)"
        raise ParamError(f"unknown key{hint}; strategy {strategy.name!r} takes: {takes}", unknown=True)
    number = _bare(field.type) is float and isinstance(value, int) and not isinstance(value, bool)
    try:
        converted = msgspec.convert(float(value) if number else value, field.type, strict=True)  # an int is a number
    except msgspec.ValidationError:
        converted = None
    if converted is None or (isinstance(converted, float) and not math.isfinite(converted)):
        raise ParamError(f"expected {_expected(strategy, field)}, {got(value)}")
    return converted


def _bare(hint: Any) -> Any:
    # ``float`` of ``Annotated[float, msgspec.Meta(gt=0)]``; any other type as it is
    return typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint


def _bounds(hint: Any) -> str:
    # " > 0 and <= 1" of the msgspec.Meta constraints of an Annotated type ("" without)
    metas = [m for m in typing.get_args(hint)[1:] if isinstance(m, msgspec.Meta)]
    signs = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
    said = [f"{sign} {getattr(m, name):g}" for m in metas for name, sign in signs if getattr(m, name) is not None]
    return (" " + " and ".join(said)) if said else ""


def _expected(strategy: Strategy, field: msgspec.structs.FieldInfo) -> str:
    words = _TYPE_WORDS.get(_bare(field.type), str(field.type)) + _bounds(field.type)
    default = field.default
    shown = ("true" if default else "false") if isinstance(default, bool) else repr(default)
    return f"{words} (parameter {field.encode_name} of strategy {strategy.name!r}, default {shown})"


def describe_params(params: Any) -> dict[str, Any]:
    """A strategy's parameters as ``{name: value}`` (its params struct, or None: nothing), for reports."""
    if params is None:
        return {}
    return {f.encode_name: getattr(params, f.name) for f in msgspec.structs.fields(type(params))}


def strategy_record(config: AppConfig) -> dict[str, Any]:
    """What reports, ``arb check`` and a run's meta say of ``config``'s strategy: ``name``, ``origin``
    (``"arb"`` for a built-in, else ``[strategy] kernel`` as resolved), ``summary``, ``quotes`` and
    ``params`` (``[strategy.params]`` with the defaults filled in; ``{}`` for a strategy that reads its
    settings from ``[strategy]``). Raises :class:`StrategyLoadError` as :func:`strategy_of` and
    :func:`params_for` do."""
    strategy = strategy_of(config)
    return {
        "name": strategy.name,
        "origin": strategy.origin,
        "summary": strategy.summary,
        "quotes": strategy.quotes,
        "params": describe_params(params_for(config, strategy)),
    }


# --------------------------------------------------------------------------------------------------
# Compiling


def bind_checked(
    config: AppConfig,
    strategies: Sequence[Strategy],
    rules: np.ndarray[Any, np.dtype[Any]],
    params: Sequence[Any] | None,
) -> Bound:
    """:func:`arb.strategy.seam.bind`, with a strategy that does not compile for the seam's records (or
    whose ``decide`` does not return the count of intents, ``may_act`` a truth value) answered as a
    :class:`StrategyLoadError` naming the strategy, its file and line and the compiler's reason."""
    try:
        bound = bind(strategies, rules, params)
    except ModuleNotFoundError as exc:  # a cached function's module, not the strategy's own imports
        strategy = _culprit(strategies, exc)
        raise _error(config, _KERNEL_KEY, f"strategy {strategy.name!r}{_from(strategy)}: Numba's cache of it "
                     f"needs module {exc.name!r}, which does not import here: delete the __pycache__ folder "
                     "beside the strategy's file, or import the file under one name everywhere") from None  # fmt: skip
    except Exception as exc:
        if not _is_compiler_error(exc):
            raise
        strategy = _culprit(strategies, exc)
        raise _error(config, _KERNEL_KEY, _compile_failure(strategy, exc)) from None
    if not plain():
        for strategy in dict.fromkeys(strategies):
            problem = _returns(strategy, bound)
            if problem:
                raise _error(config, _KERNEL_KEY, f"strategy {strategy.name!r}{_from(strategy)}: {problem}")
    return bound


def _is_compiler_error(exc: BaseException) -> bool:
    if "numba" not in sys.modules:
        return False
    from numba.core.errors import NumbaError

    # a TypeError out of compile(): the arguments do not fit the function (how many it takes)
    return isinstance(exc, NumbaError) or (isinstance(exc, TypeError) and "argument" in str(exc))


def _culprit(strategies: Sequence[Strategy], exc: BaseException) -> Strategy:
    # The strategy whose file the compiler's error points into (the first, when it names none).
    loc = getattr(exc, "loc", None)
    file = getattr(loc, "filename", None)
    for strategy in strategies:
        fn = getattr(strategy.decide, "py_func", strategy.decide)
        if file is not None and getattr(getattr(fn, "__code__", None), "co_filename", None) == file:
            return strategy
    return strategies[0]


def _from(strategy: Strategy) -> str:
    return f" ({strategy.origin})" if strategy.origin and strategy.origin != "arb" else ""


def _compile_failure(strategy: Strategy, exc: BaseException) -> str:
    """The compiler's refusal in a few lines: the strategy, its file and line, the reason, the line."""
    head = f"strategy {strategy.name!r}{_from(strategy)} does not compile for arb's records"
    text = _ANSI.sub("", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = [line for line in lines if not line.startswith(("Failed in ", "During:", "File ", "<source"))]
    reason = [line for line in reason if not line.startswith(("def ", "^"))][:1] or lines[:1]
    loc = getattr(exc, "loc", None)
    file: Any = getattr(loc, "filename", None)
    line = getattr(loc, "line", None)
    if file is None:
        fn = getattr(strategy.decide, "py_func", strategy.decide)
        code = getattr(fn, "__code__", None)
        file, line = (code.co_filename, code.co_firstlineno) if code is not None else ("?", 0)
    source = linecache.getline(str(file), int(line or 0)).strip()
    out = f"{head}:\n  {file}, line {line}: {_first_lines(' '.join(reason), _REASON_LINES)}"
    return out + (f"\n      {source}" if source else "")


def _returns(strategy: Strategy, bound: Bound) -> str:
    # What decide and may_act return, as compiled for the run's records: an int64 count, a boolean.
    from numba.core import types

    params, memory = bound.params.dtype, bound.memory.dtype
    decide = strategy.decide.overloads[decide_types(VIEW_DTYPE, RULES_DTYPE, params, memory, INTENT_DTYPE)]
    if decide.signature.return_type != types.int64:
        return (f"decide returns {decide.signature.return_type}: expected the number of intents it wrote (an "
                "int, e.g. return n)")  # fmt: skip
    if strategy.may_act is not None:
        may_act = strategy.may_act.overloads[may_act_types(VIEW_DTYPE, RULES_DTYPE, params)]
        if may_act.signature.return_type != types.boolean:
            return f"may_act returns {may_act.signature.return_type}: expected True or False"
    return ""


# --------------------------------------------------------------------------------------------------
# Where the configuration names it


def _error(config: AppConfig, key: str, text: str) -> StrategyLoadError:
    """The error of ``key`` of ``config``: ``--set <key>`` when the command line gave it a value the file
    does not, else the configuration file and the key."""
    written = as_written(config)
    before, now = (_value_at(written, key), _value_at(config, key)) if written is not None else (None, None)
    if written is not None and (before != now or type(before) is not type(now)):  # 5 == 5.0, yet --set made it
        return StrategyLoadError(f"--set {key}", None, text)
    return StrategyLoadError(str(config.path), key, text)


def _value_at(config: AppConfig, key: str) -> Any:
    if key == _KERNEL_KEY:
        return config.strategy.kernel
    if key == _PARAMS_KEY:
        return dict(config.strategy.params)
    return config.strategy.params.get(key.rpartition(".")[2], _ABSENT)


_ABSENT: Final = object()
