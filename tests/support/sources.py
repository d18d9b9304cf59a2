"""arb's own sources as syntax trees, parsed once per test process for the tests that read the code.

The rules read from the sources (``tests/unit/test_code_rules.py``, ``test_venues_are_folders.py``,
``test_printed_hints.py``) each went over all of ``arb/`` and ``connectors/``: parsing them is about 3 s
of CPU and each ``ast.walk`` of every tree about 1 s, once per rule. Here a file is parsed once and its
nodes listed once, whatever rule asks; a tree is shared, so a rule must not change it.
"""

from __future__ import annotations

__all__ = ["nodes", "tree"]

import ast
import functools
from pathlib import Path


@functools.cache
def tree(path: Path) -> ast.Module:
    """The syntax tree of the Python file at ``path`` (read-only: the same tree for every caller)."""
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache
def nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of :func:`tree` of ``path``, in ``ast.walk``'s order."""
    return tuple(ast.walk(tree(path)))
