"""equity.png drawn in a process of its own, forked when a command starts, so that matplotlib's import
(about 0.3 s) happens beside the run instead of after it, and the drawing beside the report's other files.

``arb backtest`` starts one (:meth:`ChartWorker.start`) once its configuration is read, before it imports
what the run needs: the fork copies a process that has NumPy and arb's report modules imported (not
Numba: this module and those it imports never load the kernel) and no thread but its own, and the child
imports matplotlib and rehearses a figure on the core left idle while the parent imports, then waits while
the parent converts, compiles and runs. :func:`arb.reports.files.write_report` then hands
it the figure's data (:meth:`ChartWorker.submit`) before writing the tables and waits for its answer before
summary.json, which is written last as always. The child writes equity.png through the same atomic writer
as the parent would.

Whatever goes wrong with the child (it could not be forked, it died, it could not be reached) costs only the
time: the parent logs why and draws equity.png itself, so a drawing error is raised in the parent as it
would be without a worker. Where forking is not safe (threads running, no ``fork`` on the platform) the
worker draws in the parent from the start. The child ignores SIGINT (a Ctrl-C is the parent's to handle)
and ends when the parent closes its end of the pipe or exits.
"""

from __future__ import annotations

import copyreg
import io
import logging
import multiprocessing
import multiprocessing.connection
import pickle
import signal
import threading
import traceback
from pathlib import Path
from types import MappingProxyType
from typing import Any

from arb.files import atomic_writer
from arb.reports.charts import _DPI, plot_equity
from arb.reports.common import Array
from arb.reports.summary import Summary

logger = logging.getLogger(__name__)

_DRAWN = "drawn"


def _dumps(job: tuple[Path, Summary, Array, Array]) -> bytes:
    # pickled as the child unpickles it; a summary's read-only mappings go as the dicts they wrap
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _proxy}
    pickler.dump(job)
    return buffer.getvalue()


def _proxy(mapping: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _read_only, (dict(mapping),)


def _read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def _serve(conn: multiprocessing.connection.Connection, parents: multiprocessing.connection.Connection) -> None:
    # The child: matplotlib imported ahead, then one figure per request until the parent hangs up (the
    # parent's end, forked into the child too, closed here: else the pipe never reads as closed)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parents.close()
    try:
        _rehearse()
    except Exception:  # a head start only: the drawing says what is wrong, if anything is
        logger.debug("the chart worker's rehearsal failed", exc_info=True)
    while True:
        try:
            path, summary, fills, equity = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            with atomic_writer(path) as f:
                plot_equity(f, summary, fills, equity)
        except Exception:  # noqa: BLE001 - the parent draws again and raises it itself
            answer = traceback.format_exc(limit=-3)
        else:
            answer = _DRAWN
        try:
            conn.send(answer)
        except OSError:  # the parent stopped waiting (it failed or was interrupted meanwhile)
            return


def _rehearse() -> None:
    # matplotlib imported and a small figure drawn and saved to nothing: the fonts found and loaded, the
    # date axis's, the layout's and the PNG writer's code run once, while the parent still runs
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots(2, 1, sharex=True)
    times = np.array([0, 3_600_000_000_000], dtype="datetime64[ns]")
    ax[0].plot(times, [0.0, 1.0], label="a")
    ax[1].scatter(times, [1.0, 0.0], marker="^")
    ax[0].legend(loc="upper left", fontsize="small")
    ax[0].set_title("rehearsal", fontsize="small", loc="left")
    fig.savefig(io.BytesIO(), format="png", dpi=_DPI)  # the PNG writer's imports (Pillow's plugins) too


class ChartWorker:
    """A forked process that draws equity.png for the parent (see the module's docstring)."""

    def __init__(
        self,
        process: multiprocessing.process.BaseProcess | None = None,
        conn: multiprocessing.connection.Connection | None = None,
    ) -> None:
        self._process = process
        self._conn = conn
        self._pending: tuple[Path, Summary, Array, Array] | None = None
        self._sent = False  # whether a figure was asked of the child: before that it has nothing to finish

    @classmethod
    def start(cls) -> ChartWorker:
        """Fork the worker. Where forking is not safe it draws in this process instead (:attr:`forked`
        False): no ``fork`` start method (not Linux or macOS), or threads running here (a forked child
        inherits their locks as held)."""
        if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
            return cls()
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, ours), name="arb-chart", daemon=True)
        try:
            process.start()
        except OSError as e:  # out of processes or memory: drawn here
            logger.info("equity.png is drawn in this process: the chart worker could not start (%s)", e)
            ours.close()
            theirs.close()
            return cls()
        theirs.close()
        return cls(process, ours)

    @property
    def forked(self) -> bool:
        """Whether a child draws (until it is lost or closed)."""
        return self._conn is not None

    def submit(self, path: Path, summary: Summary, fills: Array, equity: Array) -> None:
        """Have the worker draw equity.png into ``path``; :meth:`wait` for it (one at a time)."""
        if self._pending is not None:
            raise RuntimeError("the chart worker draws one figure at a time: wait() for the last one first")
        self._pending = (path, summary, fills, equity)
        if self._conn is None:
            return
        try:
            job = _dumps(self._pending)
        except (pickle.PicklingError, TypeError, AttributeError) as e:  # drawn here at wait()
            self._lost(f"was not sent the figure's data: {e}")
            return
        try:
            self._sent = True
            self._conn.send_bytes(job)
        except (OSError, ValueError) as e:  # the child is gone: drawn here at wait()
            self._lost(f"could not be reached ({e})")

    def wait(self) -> None:
        """Return once the submitted figure is written: by the worker, or here when the worker could not
        (a drawing error is raised here, as drawing it here raises it)."""
        if self._pending is None:
            return
        path, summary, fills, equity = self._pending
        self._pending = None
        if self._conn is not None:
            try:
                answer = self._conn.recv()
            except (EOFError, OSError) as e:
                code = self._process.exitcode if self._process is not None else None
                self._lost(f"ended without drawing it (exit code {code}; {e or 'no answer'})")
            else:
                if answer == _DRAWN:
                    return
                logger.debug("the chart worker could not draw %s:\n%s", path, answer)
        with atomic_writer(path) as f:
            plot_equity(f, summary, fills, equity)

    def _lost(self, why: str) -> None:
        logger.warning("equity.png is drawn in this process: the chart worker %s", why)
        self.close()

    def close(self) -> None:
        """Hang up and reap the worker (it exits when its pipe closes; killed if it does not). A worker never
        asked for a figure (the command failed first) is stopped at once, not waited for through its
        rehearsal."""
        if self._process is not None and not self._sent and self._process.is_alive():
            self._process.terminate()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()

    def __enter__(self) -> ChartWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def exitcode(self) -> int | None:
        """How the worker ended once reaped (negative: the signal that stopped it); None while it runs or
        when none was forked."""
        return None if self._process is None else self._process.exitcode

    @property
    def pid(self) -> int | None:
        """The worker's process id (None when none runs: not forked, or reaped)."""
        if self._process is None or self._process.exitcode is not None:
            return None
        return self._process.pid
