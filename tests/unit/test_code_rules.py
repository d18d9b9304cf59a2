"""The rules every module keeps (docs/architecture.md), read from the sources: a rule that is only
written down is broken by the next change that nobody measured."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support.sources import nodes, tree

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("arb", "connectors")
FAKES = ("arb/sim", "arb/testing")
MAX_LINES = 800
MAX_LINES_FAKES = 600
MAX_COMPILED_ARGS = 8
MAX_FUNCTION_LINES = 80
SHORT_FUNCTIONS = ("arb/strategy", "arb/backtest", "arb/live")
KEPT_WHOLE = "Kept whole: "


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _compiled(node: ast.FunctionDef) -> bool:
    # @njit, @njit(...), @numba.njit(...)
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (isinstance(target, ast.Name) and target.id == "njit") or (
            isinstance(target, ast.Attribute) and target.attr == "njit"
        ):
            return True
    return False


def test_the_rules_see_the_whole_package() -> None:
    modules = _modules()
    assert len(modules) > 200 and all(p.suffix == ".py" for p in modules)


def test_no_module_is_over_its_size_limit() -> None:
    over = []
    for path in _modules():
        limit = MAX_LINES_FAKES if _name(path).startswith(FAKES) else MAX_LINES
        lines = len(path.read_text().splitlines())
        if lines > limit:
            over.append(f"{_name(path)}: {lines} lines (at most {limit})")
    assert over == []


def test_no_executor_is_probed_for_what_it_can_do() -> None:
    # What the engine and its readers need of an executor is its protocol (arb.live.engine.Executor):
    # getattr/hasattr on anything named *executor* would hide a capability the type does not state.
    probes = []
    for path in _modules():
        for node in nodes(path):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
                continue
            if node.func.id in ("getattr", "hasattr") and "executor" in ast.unparse(node.args[0]).lower():
                probes.append(f"{_name(path)}:{node.lineno}: {ast.unparse(node)}")
    assert probes == []


def test_no_wait_can_swallow_the_cancel_of_its_caller() -> None:
    # Python 3.11's asyncio.wait_for returns the inner result when a cancel meets its completion, and
    # suppress(CancelledError) around an awaited task takes the caller's cancel for the task's own: either
    # leaves a task running past the cancel meant to end it (a stop that plays on, a hung event-loop close).
    # arb.waiting's cancel_and_wait and wait_set, or asyncio.timeout, are the waits to use.
    found = []
    for path in _modules():
        for node in nodes(path):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "asyncio.wait_for":
                found.append(f"{_name(path)}:{node.lineno}: {ast.unparse(node)}")
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func).endswith("suppress")
                and any(ast.unparse(arg).endswith("CancelledError") for arg in node.args)
            ):
                found.append(f"{_name(path)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_no_compiled_function_takes_over_eight_arguments() -> None:
    compiled, over = 0, []
    for path in _modules():
        for node in nodes(path):
            if isinstance(node, ast.FunctionDef) and _compiled(node):
                compiled += 1
                a = node.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + (a.vararg is not None)
                if n > MAX_COMPILED_ARGS:
                    over.append(f"{_name(path)}:{node.lineno} {node.name}: {n} arguments")
    assert compiled > 50  # the rule reads the compiled functions, not nothing
    assert over == []


def test_no_function_is_long_unless_its_docstring_says_why() -> None:
    """A function in arb/strategy, arb/backtest or arb/live is at most 80 lines, from its ``def`` to its last
    line, docstring included: a longer one is split where its steps are, each step a helper of its own. One
    that is not (a compiled loop whose locals carry from one turn to the next, a step that would cost speed)
    says why in its docstring, in a sentence that starts ``Kept whole: ``."""
    found, over = 0, []
    for path in _modules():
        if not _name(path).startswith(SHORT_FUNCTIONS):
            continue
        for node in nodes(path):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            found += 1
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            said = " ".join((ast.get_docstring(node) or "").split())  # a sentence may break across lines
            if lines > MAX_FUNCTION_LINES and KEPT_WHOLE not in said:
                over.append(f"{_name(path)}:{node.lineno} {node.name}: {lines} lines")
    assert found > 500  # the rule reads the functions, not nothing
    assert over == []


def test_a_modules_public_names_come_before_its_imports() -> None:
    misplaced = []
    for path in _modules():
        body = tree(path).body
        names = [
            n for n in body if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
        ]
        imports = [
            n for n in body if isinstance(n, ast.Import | ast.ImportFrom) and getattr(n, "module", "") != "__future__"
        ]
        if names and imports and imports[0].lineno < names[0].lineno:
            misplaced.append(f"{_name(path)}:{names[0].lineno}")
    assert misplaced == []


KNOWN_CYCLES: list[list[str]] = []
"""File-level import cycles kept for now, each with its reason (none: a new one is a design to fix, not to list)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    # The project's modules an import statement names: ``from a.b import c`` is a.b.c when that is a module
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = node.module or ""
    named = {f"{base}.{alias.name}" for alias in node.names} & modules
    return named or ({base} & modules)


def test_no_module_imports_one_that_imports_it_back() -> None:
    # Every import counts, those only for type checking too (a cycle in the annotations is one in the design)
    paths = {_module_name(p): p for p in _modules()}
    modules = set(paths)
    graph = {name: set[str]() for name in modules}
    for name, path in paths.items():
        for node in nodes(path):
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[name] |= _imported(node, modules) - {name}
    assert sum(map(len, graph.values())) > 1000  # the rule reads the imports, not nothing
    cycles = []
    for component in _strongly_connected(graph):
        if len(component) > 1 and sorted(component) not in KNOWN_CYCLES:
            cycles.append(sorted(component))
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    # Tarjan's algorithm, iterative
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    out.append(component)
    return out


def test_the_pre_commit_hooks_make_the_checks_ci_makes_before_the_tests() -> None:
    checks: dict[str, list[str]] = {}  # .ci/run's: "ruff format --check" -> the folders it is given
    for line in (ROOT / ".ci" / "run").read_text().splitlines():
        words = line.split()
        if words[:1] in (["ruff"], ["mypy"], ["lint-imports"]):
            n = 3 if words[:2] == ["ruff", "format"] else 2 if words[0] == "ruff" else 1
            checks[" ".join(words[:n])] = words[n:]
    hooks = (ROOT / ".pre-commit-config.yaml").read_text()
    entries = re.findall(r"^\s+entry: (.+)$", hooks, re.MULTILINE)
    assert sorted(entries) == sorted(checks) == ["lint-imports", "mypy", "ruff check", "ruff format --check"]
    folders = re.findall(r"^\s+files: \^\((.+)\)/$", hooks, re.MULTILINE)  # the two ruff hooks'
    assert [f.split("|") for f in folders] == [checks["ruff check"], checks["ruff format --check"]]


@pytest.mark.parametrize(
    ("source", "compiled"),
    [
        ("@njit\ndef f(): pass", True),
        ("@njit(cache=True, nogil=True)\ndef f(): pass", True),
        ("@numba.njit(cache=True)\ndef f(): pass", True),
        ("@functools.cache\ndef f(): pass", False),
        ("def f(): pass", False),
    ],
)
def test_compiled_functions_are_told_by_their_decorator(source: str, compiled: bool) -> None:
    (node,) = ast.parse(source).body
    assert isinstance(node, ast.FunctionDef) and _compiled(node) is compiled
