"""arb's ``njit``: Numba's, compiling each function once per argument *types*, never per constant.

When compiled code calls a compiled function with a constant argument (``f(x, True)``, ``f(buf, 0, n)``,
``f(rows, DEPTH_BID)``), Numba types that argument as a literal (``Literal[bool](True)``) and compiles
the callee once more for each constant: ``_merge_run(..., True)`` and ``_merge_run(..., False)`` were
two complete compilations, and so was a callee handed a variable still holding its initial constant
while type inference was under way. The risk gate's ``_refuse`` was compiled 12 times, the kernel and
loop helpers took a third longer to compile than they need, and the first run after an install pays
for all of it. The dispatcher below hands the callee the constant's type instead (``bool``, ``int64``):
one compilation per distinct argument types, the same machine code for every constant, and a
function that needs a literal (``numba.literally``, a record field named by an argument) fails to
compile instead of silently multiplying.

It also skips the C-callable wrapper Numba builds beside every function (``no_cfunc_wrapper``): it
serves only first-class function values (``numba.cfunc``-style calls, functions stored in typed
containers), which arb does not use. The Python-callable wrapper (unboxing code for every argument,
tens of milliseconds of compiling each, more for record arrays and tuples) is built with the function
unless the function says who calls it: ``internal=True``, only compiled code (a call from Python runs
the plain Python body), or ``twin=True``, compiled code first and Python sometimes (a test, the paper
venue's fills, the live engine's bookkeeping): the wrapper is then compiled apart, in a twin of the
function compiled on its first call from Python and cached under its own name, so that a backtest,
whose compiled loop is the only caller of the kernel, the gate and the guard, never builds it.

A function only compiled code runs (``internal=True``, ``twin=True``) has no machine code of its own
either: Numba links a callee's code into each compiled caller and generates the caller's machine code
with it, so the callee's own was generated (and cached) for no one; it is not, and the callee's code is
optimised once, in each caller, not first on its own too. ``by_address=True`` keeps it for a function
whose address compiled code is handed (the step, a strategy's ``decide``).

Use it exactly as ``numba.njit`` with keyword options: ``@njit(cache=True, nogil=True)``.

Without compilation (``NUMBA_DISABLE_JIT=1`` in the environment, :func:`plain`) ``njit`` returns the
function itself and Numba is not even imported by this module: a process that only runs the rules as
plain Python (``arb check`` runs the kernel's sizing and the risk gate so) starts without Numba's
quarter of a second. The variable is read as Numba reads it, so a later import of Numba agrees.

The first run after an install or an update compiles for seconds to minutes where later runs load
machine code from Numba's cache in a fraction of a second. :func:`say_compiling` tells the user
which it is, before it happens, so a slow first run is not a surprise.

Processes that share a cache compile a cached function one at a time: a compilation holds a lock on a
file beside the function's cache index (``<index>.lock``), and a process that finds it held waits,
then looks in the cache again, where it usually finds the other's machine code (an ``arb sweep`` pool
on an empty cache, ``arb backtest``'s warm-up processes, a dry run started beside a backtest, test
workers). Without it each of them compiled the same machine code, and the one index file each rewrote
with only its own entry added kept one of two different signatures compiled at once: the other was
compiled again by the next process. A lock is released when its process ends, however it ends; where
the cache's folder is not writable, compilations go unlocked, as before.
"""

from __future__ import annotations

__all__ = [
    "Compiled",
    "cached",
    "entry_point",
    "linked_only",
    "njit",
    "plain",
    "ready_to_compile",
    "say_compiling",
    "with_stack_room",
]

import contextlib
import fcntl
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FunctionType
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from numba.core.dispatcher import Dispatcher

_F = TypeVar("_F", bound=Callable[..., Any])
_R = TypeVar("_R")


def plain() -> bool:
    """True when nothing is compiled in this process: Numba's ``DISABLE_JIT``, or before Numba is
    imported the environment's ``NUMBA_DISABLE_JIT`` read as Numba reads it (a whole number, not 0)."""
    if "numba.core.config" in sys.modules:
        from numba.core import config

        return bool(getattr(config, "DISABLE_JIT", False))
    try:
        return int(os.environ.get("NUMBA_DISABLE_JIT", "0") or "0") != 0
    except ValueError:  # Numba warns and compiles
        return False


_held: dict[str, tuple[int, int]] = {}
"""The compile locks this process holds: lock file -> (descriptor, depth)."""
_held_guard = threading.Lock()


def _index_path(dispatcher: Any) -> str | None:
    # The cache index file of a compiled function that caches (None: one that does not)
    index = getattr(getattr(getattr(dispatcher, "_cache", None), "_cache_file", None), "_index_path", None)
    return index if isinstance(index, str) else None


@contextlib.contextmanager
def _compiling(dispatcher: Any) -> Iterator[None]:
    # Hold the compile lock of a cached function (see the module docstring). Re-entrant: a function
    # compiled while compiling itself (recursion) takes it once. Compiling a caller takes its callees'
    # locks inside its own, in the order calls go, and calls never go round in a circle: no two
    # processes can wait for each other.
    index = _index_path(dispatcher)
    if index is None:
        yield
        return
    path = f"{index}.lock"
    with _held_guard:
        fd, depth = _held.get(path, (-1, 0))
        if depth:
            _held[path] = (fd, depth + 1)
    if not depth:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only cache: Numba does not write there either
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        with _held_guard:
            _held[path] = (fd, 1)
    try:
        yield
    finally:
        with _held_guard:
            fd, depth = _held.pop(path)
            if depth > 1:
                _held[path] = (fd, depth - 1)
        if depth == 1:
            os.close(fd)  # releases the lock


@functools.cache
def _dispatcher_class() -> Any:
    # Numba's CPU dispatcher whose calls from compiled code are compiled for the arguments' non-literal
    # types, and whose compilations of a cached function wait for another process's (see the module
    # docstring); made (and Numba imported) when the first function is compiled.
    from numba.core import sigutils, types
    from numba.core.registry import CPUDispatcher

    class _TypeDispatcher(CPUDispatcher):
        def enable_caching(self) -> None:
            self._cache = _quick_load_cache()(self.py_func)

        def get_call_template(self, args: Any, kws: Any) -> Any:
            unliteral: Callable[[Any], Any] = types.unliteral
            args = tuple(unliteral(a) for a in args)
            kws = {k: unliteral(v) for k, v in kws.items()}
            return super().get_call_template(args, kws)

        def compile(self, sig: Any) -> Any:
            args, _ = sigutils.normalize_signature(sig)  # type: ignore[no-untyped-call]  # numba is untyped
            if tuple(args) in self.overloads:  # compiled here already: no lock to take
                return super().compile(sig)
            with _compiling(self):  # then the cache is looked in again: another process may have written it
                return super().compile(sig)

    return _TypeDispatcher


@functools.cache
def _quick_load_cache() -> Any:
    # Numba's on-disk cache of a function, less one step of loading from it: Numba first imports and
    # registers every implementation it could need to compile (NumPy's, the typed containers', ...),
    # imports that a process which only loads machine code (a second arb backtest) never uses. Loading
    # needs only Numba's runtime, set up here; a compilation later in the process registers the rest
    # itself, as it always does before compiling.
    from numba.core.caching import FunctionCache
    from numba.core.runtime import nrt

    class _QuickLoadCache(FunctionCache):
        def load_overload(self, sig: Any, target_context: Any) -> Any:
            nrt.rtsys.initialize(target_context)
            return self._load_overload(sig, target_context)  # type: ignore[no-untyped-call]

    return _QuickLoadCache


@functools.cache
def _internal_class() -> Any:
    # The dispatcher of a function compiled without its Python-callable wrapper: called from Python its
    # machine code would jump to a null address, so a call from Python runs the function as plain Python
    # (the same rules, as ``arb check`` runs them; what it calls that is compiled runs compiled).
    class _InternalDispatcher(_dispatcher_class()):  # type: ignore[misc]
        def __call__(self, *args: Any, **kws: Any) -> Any:
            return self.py_func(*args, **kws)

    return _InternalDispatcher


@functools.cache
def _twin_class() -> Any:
    # The dispatcher of a function compiled without its Python-callable wrapper whose calls from Python go
    # to a twin: a dispatcher of the same function with the wrapper, made on the first such call, its
    # cache entries beside the function's under a name of their own (Numba's cache key is the signature
    # and the code, not the compile options: under the same name, one could load the other's machine
    # code, and a call from Python would jump to the missing wrapper's null address).
    from numba.core.caching import CompileResultCacheImpl, NullCache

    class _PythonCacheImpl(CompileResultCacheImpl):
        def get_filename_base(self, fullname: str, abiflags: str) -> str:
            base = super().get_filename_base(fullname, abiflags)  # type: ignore[no-untyped-call]  # numba is untyped
            return f"{base}-python"

    class _PythonCache(_quick_load_cache()):  # type: ignore[misc]
        _impl_class = _PythonCacheImpl

    base = _dispatcher_class()

    class _TwinDispatcher(base):  # type: ignore[misc,valid-type]
        _python: Any = None

        def python_twin(self) -> Any:
            """The function compiled with its Python-callable wrapper (made once)."""
            twin = self._python
            if twin is None:
                options = {k: v for k, v in self.targetoptions.items() if k != "no_cpython_wrapper"}
                twin = base(py_func=self.py_func, locals=self.locals, targetoptions=options)
                if not isinstance(self._cache, NullCache):
                    twin._cache = _PythonCache(self.py_func)
                self._python = twin
            return twin

        def __call__(self, *args: Any, **kws: Any) -> Any:
            twin = self._python
            return (self.python_twin() if twin is None else twin)(*args, **kws)

    return _TwinDispatcher


def njit(
    *, cache: bool = False, internal: bool = False, twin: bool = False, by_address: bool = False, **options: Any
) -> Callable[[_F], Dispatcher[_F]]:
    """``numba.njit(cache=..., **options)`` with one compilation per argument types (see the module).

    ``internal=True``: a helper only compiled code calls. Numba then skips the Python-callable wrapper it
    otherwise builds for every compiled function (unboxing code for every argument: for a helper handed
    tuples of record arrays, a good part of its compile time, paid again in every caller's first run);
    called from Python it runs as plain Python. It can still be compiled ahead (``fn.compile(sig)``).

    ``twin=True``: a function compiled code calls, and Python now and then. Compiled without the wrapper
    too; a call from Python (or :func:`entry_point`) runs its twin, the same function compiled with the
    wrapper, on that call's first use (or loaded from Numba's cache, under the function's name and
    ``-python``). ``fn.compile(sig)`` compiles what compiled callers link; its result is not callable.

    Either way the function has no machine code of its own (none is generated or cached): its compiled
    callers link its code, optimise it with theirs and generate the whole (:func:`_linked_pipeline`).
    ``by_address=True``: a function whose wrapper-less machine code is also called by address
    (:func:`arb.strategy.calls.address`: the step, the strategy's ``decide``), compiled as Numba does."""
    if internal and twin:
        raise TypeError("njit: internal=True and twin=True exclude each other")
    if by_address and not (internal or twin):
        raise TypeError("njit: by_address=True is for internal=True or twin=True functions (the others have it)")

    def decorate(fn: _F) -> Dispatcher[_F]:
        if plain():
            return cast("Dispatcher[_F]", fn)
        targetoptions = {"no_cfunc_wrapper": True, "boundscheck": None, **options, "nopython": True}
        if internal or twin:
            targetoptions["no_cpython_wrapper"] = True
        make = _internal_class() if internal else _twin_class() if twin else _dispatcher_class()
        if (internal or twin) and not by_address:
            dispatcher = make(py_func=fn, locals={}, targetoptions=targetoptions, pipeline_class=_linked_pipeline())
            dispatcher.linked_only = True
        else:
            dispatcher = make(py_func=fn, locals={}, targetoptions=targetoptions)
        if cache:
            dispatcher.enable_caching()
        return cast("Dispatcher[_F]", dispatcher)

    return decorate


@functools.cache
def _linked_pipeline() -> Any:
    # The compiler of a function that nothing runs on its own, only the compiled callers its code is
    # linked into (internal=True, twin=True). Numba links a callee's code into every caller and optimises
    # and generates the machine code of the whole there; what it also did for the callee on its own
    # served no one in a backtest: the module-wide optimising of the callee with its own callees linked
    # in (which each caller does again over the same code) and its machine code (generated, then written
    # to its cache). A first backtest spent about 3.5 s of CPU on them (docs/performance.md). The library
    # here keeps the callee's code as its functions' own optimising leaves it, for its callers to link,
    # and hands the JIT engine only its environment's slot (which Numba fills when the function is set
    # up, and the linked copies share); cached, it is that code beside the slot's object. Its address is
    # 0, so :func:`arb.strategy.calls.address` refuses such a function (``by_address=True`` is for those).
    import weakref

    from llvmlite import binding as llvm
    from numba.core.codegen import JITCodeLibrary
    from numba.core.compiler import Compiler, DefaultPassBuilder
    from numba.core.compiler_machinery import LoweringPass, register_pass
    from numba.core.registry import cpu_target
    from numba.core.typed_passes import AnnotateTypes

    context = cpu_target.target_context

    class _LinkedLibrary(JITCodeLibrary):  # numba is untyped: its calls below are ignored by mypy
        def _optimize_final_module(self) -> None:
            pass  # each caller optimises this code with its own, once

        def _finalize_final_module(self) -> None:
            # Numba's, except that the JIT engine is handed the environments' slots, not the code
            self._finalize_dynamic_globals()  # type: ignore[no-untyped-call]
            self._verify_declare_only_symbols()  # type: ignore[no-untyped-call]
            slots = self._codegen._create_empty_module(f"{self.name}.env")  # type: ignore[no-untyped-call]
            for var in self._final_module.global_variables:
                if "NumbaEnv" in var.name and not var.is_declaration:
                    context.declare_env_global(slots, var.name)
            module = llvm.parse_assembly(str(slots))
            # Numba's object-cache hook then keeps the slots' object code as this library's, for the cache
            module._CPUCodeLibrary__library = weakref.proxy(self)
            self._codegen._add_module(module)  # type: ignore[no-untyped-call]
            self._codegen._engine.finalize_object()
            self._finalized = True

    @register_pass(mutates_CFG=False, analysis_only=False)  # type: ignore[no-untyped-call]
    class _LinkedOnly(LoweringPass):
        _name = "arb_linked_only"

        def __init__(self) -> None:
            LoweringPass.__init__(self)  # type: ignore[no-untyped-call]

        def run_pass(self, state: Any) -> bool:
            if state.library is None:  # as Numba's lowering makes it, but of the class above
                state.library = _LinkedLibrary(state.targetctx.codegen(), state.func_id.func_qualname)  # type: ignore[no-untyped-call]
                state.library.enable_object_caching()
            return False

    class _LinkedCompiler(Compiler):
        def define_pipelines(self) -> list[Any]:  # arb's njit compiles in nopython mode only
            passes = DefaultPassBuilder.define_nopython_pipeline(self.state)  # type: ignore[no-untyped-call]
            passes.add_pass_after(_LinkedOnly, AnnotateTypes)
            passes.finalize()
            return [passes]

    return _LinkedCompiler


def linked_only(fn: Any) -> bool:
    """True when compiled function ``fn`` has no machine code of its own, only what its compiled
    callers link (``njit(internal=True)`` or ``njit(twin=True)`` without ``by_address=True``)."""
    return bool(getattr(fn, "linked_only", False))


def cached(fn: Any) -> bool:
    """True when the compiled function ``fn`` is ready (its machine code, or for a :func:`linked_only`
    function the code its callers link): compiled in this process, or in Numba's on-disk cache (written
    by an earlier process, for some argument types)."""
    if getattr(fn, "signatures", None):
        return True
    index = _index_path(fn)
    return index is not None and os.path.exists(index)


def ready_to_compile() -> None:
    """Load Numba's typing and lowering registries in this process now: what its first compilation does
    first (about 0.15 s of CPU here), which the processes it forks then inherit instead of each loading
    them again (``arb backtest``'s warm-up halves, forked before the run compiles its strategy)."""
    from numba.core.registry import cpu_target

    cpu_target.typing_context.refresh()
    cpu_target.target_context.refresh()


_STACK_ROOM = 32_768
"""Slots of the frame :func:`with_stack_room` calls from: 256 KiB, which CPython places at the start of a
512 KiB chunk of its frame stack, leaving about 250 KiB above it for the calls beneath."""


@functools.cache
def _roomy() -> Callable[[Callable[..., Any], tuple[Any, ...]], Any]:
    def call(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        return fn(*args)

    # the same function with 32,768 more local variables, never used: its frame is that much larger
    code = call.__code__
    names = code.co_varnames + tuple(f"_{i}" for i in range(_STACK_ROOM))
    roomy = code.replace(co_varnames=names, co_nlocals=len(names))
    return cast("Callable[[Callable[..., Any], tuple[Any, ...]], Any]", FunctionType(roomy, {}, "with_stack_room"))


def with_stack_room(fn: Callable[..., _R], *args: Any) -> _R:
    """``fn(*args)``, called from a frame that gives the calls beneath it room on CPython's frame stack.

    CPython (3.11 on) keeps its Python frames on a stack of 16 KiB chunks, maps a new chunk when a call
    does not fit in the current one and unmaps it as soon as that call returns. A call made over and
    over just at a chunk's end maps and unmaps 16 KiB each time: compiling the step, Numba's typing
    and lowering did so about 190,000 times (1.2 s of system CPU and as many page faults, a tenth of that
    process's time), and the other compiling processes tens of thousands of times. A frame this large
    makes CPython map one chunk of 512 KiB for it, and every call beneath it, to about 250 KiB deep,
    stays in that chunk. ``arb``'s commands run under it (forked processes inherit the stack they were
    forked on), and so do the compiling processes that start afresh."""
    return cast("_R", _roomy()(fn, args))


def entry_point(fn: Any, *args: Any) -> Callable[..., Any]:
    """The machine code of compiled function ``fn`` for the types of ``args``, compiled (or loaded from
    Numba's cache) now, as a Python callable that skips Numba's per-call dispatch: finding the machine
    code by typing every argument, which for a call handed many arrays (tuples of record arrays) costs
    several microseconds, more than the work of a short call.

    Only for a caller whose arguments have exactly these types at every call (the same dtypes, ranks,
    layouts and tuple shapes): the entry point converts what it is handed by the types it was compiled
    for, without checking them. Nothing is run. Without Numba's compilation (``NUMBA_DISABLE_JIT``),
    ``fn`` itself."""
    if plain() or not hasattr(fn, "compile"):
        return cast("Callable[..., Any]", fn)
    from numba import typeof

    if hasattr(fn, "python_twin"):  # compiled without the Python-callable wrapper: its twin has it
        fn = fn.python_twin()
    elif fn.targetoptions.get("no_cpython_wrapper"):
        raise TypeError(f"{fn.__name__} is compiled for compiled callers only (internal=True): no entry point")
    compiled: Callable[..., Any] = fn.compile(tuple(typeof(a) for a in args))  # type: ignore[no-untyped-call]
    return compiled


Compiled = tuple[str, Sequence[Any], float]
"""One part that compiles: what to call it (``"the Binance scanner"``), its compiled entry points, and
about how long compiling it takes, in seconds (measured on the project's 2-core VM; a loaded machine
takes longer)."""

_said: set[str] = set()


def say_compiling(
    parts: Sequence[Compiled], log: logging.Logger, status: Callable[[str], None] | None = None
) -> str | None:
    """Say, once per process and part, that ``parts`` are about to be compiled: those whose entry
    points have no machine code yet (:func:`cached`). Logs one line at INFO and shows it on
    ``status``; returns it, or None when everything is in Numba's cache already (nothing said)."""
    if plain():
        return None
    names = [name for name, fns, _ in parts if name not in _said and not all(cached(fn) for fn in fns)]
    if not names:
        return None
    _said.update(names)
    seconds = sum(s for name, _, s in parts if name in names)
    what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    text = (
        f"compiling {what}: once after an install or update, about {seconds:.0f} s "
        "(later runs load it from Numba's cache)"
    )
    log.info(text)
    if status is not None:
        status(text)
    return text
