"""Every ``arb ...`` command arb prints as a hint parses as printed.

The hints are found in the code itself, so a new one is checked without being listed here: every string
arb may print (not a docstring, not a ``help``/``description``/``epilog`` text, which describe rather
than tell) is searched for ``arb COMMAND --option value ...``. Each hint is then read by the command's
own parser, option by option: the command exists, each option is one of its own, each value written out
is one the option's type accepts (a file the user names is not looked for), and every required option is
there. A value filled in when the message is made (an f-string field, ``%s``) is taken as given.

A hint ends at the first word that is neither an option nor an option's value ("arb reconcile
--accept-venue-state if the venues are right"); a message's own prefix ("arb fetch: ...") is no hint,
and a command named with no option ("one arb live or arb order per account") names it: only that the
command exists is checked.
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
import shlex
from collections.abc import Iterator

from arb.cli import _parser
from tests.support.captures import ROOT
from tests.support.sources import tree

_HOLE = "\x00"
_PROSE = {"help", "description", "epilog"}
_HINT = re.compile(r"\barb ([a-z][a-z-]+)((?: -{1,2}[\w-]+(?: (?!-)[^\s;,)(]+)?)*)(?!:)")


def _texts(tree: ast.Module) -> Iterator[tuple[int, str]]:
    # Every string the module may print, with f-string fields as _HOLE: (line, text).
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # docstrings, of modules, classes, functions and attributes
        if isinstance(node, ast.keyword) and node.arg in _PROSE:
            skip.update(id(sub) for sub in ast.walk(node.value))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Command":
            for arg in node.args[2:]:  # Command(name, run, help, description, ...)
                skip.update(id(sub) for sub in ast.walk(arg))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            text = "".join(v.value if isinstance(v, ast.Constant) else _HOLE for v in node.values)
            yield node.lineno, str(text)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value.replace("%s", _HOLE).replace("%d", _HOLE)


@functools.cache
def _hints() -> list[tuple[str, str, list[str]]]:
    # (where, the hint's text, its words) for every hint of a known command in arb/ (its fakes aside):
    # read when a test asks (parsing all of arb/ takes seconds), not at collection in every worker
    commands = set(_subparsers().choices)
    found = []
    for path in sorted((ROOT / "arb").rglob("*.py")):
        if "testing" in path.parts:
            continue
        for line, text in _texts(tree(path)):
            for match in _HINT.finditer(text):
                if match.group(1) in commands:
                    where = f"{path.relative_to(ROOT)}:{line}"
                    found.append((where, match.group(0).replace(_HOLE, "{...}"), match.group(0).split()))
    return found


def _subparsers() -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = _parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub


def _problems(words: list[str]) -> list[str]:
    # What the command's parser would refuse in ``arb COMMAND OPTIONS``, option by option.
    parser = _subparsers().choices[words[1]]
    problems, seen, rest = [], set(), words[2:]
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        action = parser._option_string_actions.get(option)
        if action is None:
            problems.append(f"{option}: not an option of arb {words[1]}")
            continue
        seen.add(action.dest)
        if action.nargs == 0:
            continue
        if not rest or (rest[0].startswith("-") and action.nargs != "?"):
            if action.nargs != "?":
                problems.append(f"{option}: its value is missing")
            continue
        value = rest.pop(0)
        if _HOLE in value:
            continue
        if action.choices is not None and value not in action.choices:
            problems.append(f"{option}: {value!r} is not one of {list(action.choices)}")
        elif callable(action.type):
            try:
                action.type(value)
            except (argparse.ArgumentTypeError, ValueError) as error:
                if "no such" not in str(error):  # a file of the user's is not looked for
                    problems.append(f"{option}: {error}")
    for action in parser._actions:  # a command named alone ("one arb live or arb order") is a name, not a line
        if len(words) > 2 and action.required and action.option_strings and action.dest not in seen:
            problems.append(f"{action.option_strings[0]} is required")
    return problems


def test_the_search_finds_the_hints_it_must() -> None:
    texts = {text for _, text, _ in _hints()}
    assert "arb halt --paper --clear --state-dir {...}" in texts  # an f-string's field
    assert "arb halt --live --clear" in texts
    assert "arb funding-history --venue {...} --symbols {...} --start {...} --end {...}" in texts  # a log's %s
    assert "arb reconcile --accept-venue-state" in texts
    assert not any(text.startswith("arb fetch:") for text in texts)  # a message's prefix


def test_every_printed_hint_parses_as_printed() -> None:
    # each hint with what its command's parser refuses in it, where it is printed
    refused = {f"{where}: {text}": problems for where, text, words in _hints() if (problems := _problems(words))}
    assert refused == {}


def test_a_hint_that_does_not_parse_is_caught() -> None:
    # what arb printed at aa07abc when no day was there, and it failed as pasted
    (problem,) = _problems(shlex.split("arb fetch --start DAY --venue binance --market spot --symbols BTCUSDT"))
    assert problem.startswith("--start: ") and "'DAY'" in problem
    assert _problems(shlex.split("arb backtest --frobnicate")) == ["--frobnicate: not an option of arb backtest"]
    assert _problems(shlex.split("arb funding-history --venue binance")) == ["--start is required"]
