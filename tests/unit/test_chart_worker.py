"""equity.png drawn by ``arb backtest``'s forked chart worker (:mod:`arb.reports.chart_worker`): the same
report, byte for byte, as the run drawing it itself; a worker that died or was handed what cannot be drawn
costs only time (drawn in the run's process, a drawing error raised there); and no fork while other threads
run.

Each case runs in a new interpreter, as ``arb backtest`` does: the worker refuses to fork a process with
threads running, which a test worker that ran other tests may have.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.support.captures import ROOT


def _report(out: Path, how: str) -> dict[str, Any]:
    # Runs in the child interpreter: the hand-worked report of test_report written into ``out``, by a worker
    # or not (``how``); returns what the test reads
    from arb.reports import chart_worker
    from arb.reports.chart_worker import ChartWorker
    from arb.reports.files import write_report
    from arb.reports.summary import summarize
    from tests.unit.test_report import INITIAL, scenario

    fills, equity = scenario()
    summary = summarize(fills, equity, INITIAL, {"mode": "backtest"})
    warnings: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("arb.reports.chart_worker").addHandler(handler)
    if how == "here":
        write_report(out, summary, fills, equity)
        return {"warnings": warnings}
    worker = ChartWorker.start()
    assert worker.forked
    child = worker.pid
    assert child is not None and child != os.getpid()
    if how == "worker":

        def not_here(*args: Any) -> None:  # the worker was forked with the real one: only it may draw
            raise AssertionError("equity.png drawn in the run's process")

        setattr(chart_worker, "plot_equity", not_here)  # noqa: B010 - the module's own name, replaced
    elif how == "dead":
        os.kill(child, signal.SIGKILL)  # dead long before it could have drawn anything
    elif how == "undrawable":  # no mids: the drawing fails (the report's other files need none)
        with worker:
            worker.submit(out / "equity.png", summary, fills, equity[["ts", "equity"]])
            try:
                worker.wait()
            except Exception as e:  # noqa: BLE001 - what the run would raise is what the test reads
                return {"warnings": warnings, "raised": f"{type(e).__name__}: {e}"}
        return {"warnings": warnings}
    with worker:
        write_report(out, summary, fills, equity, chart=worker)
    return {"warnings": warnings, "reaped": worker.pid is None}


def _in_new_interpreter(out: Path, how: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", f"import json, sys; from {__name__} import _report; "
         f"from pathlib import Path; print(json.dumps(_report(Path(sys.argv[1]), {how!r})))", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr  # the worker prints none either
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_worker_writes_the_report_the_run_writes_itself_byte_for_byte(tmp_path: Path) -> None:
    assert _in_new_interpreter(tmp_path / "here", "here") == {"warnings": []}
    assert _in_new_interpreter(tmp_path / "worker", "worker") == {"warnings": [], "reaped": True}
    here, worker = _files(tmp_path / "here"), _files(tmp_path / "worker")
    assert "equity.png" in worker and worker == here


def test_a_worker_that_died_costs_only_time(tmp_path: Path) -> None:
    said = _in_new_interpreter(tmp_path / "dead", "dead")
    [line] = said["warnings"]
    assert line.startswith("equity.png is drawn in this process: the chart worker") and said["reaped"]
    _in_new_interpreter(tmp_path / "here", "here")
    assert _files(tmp_path / "dead") == _files(tmp_path / "here")


def test_what_cannot_be_drawn_raises_in_the_run_as_without_a_worker(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    said = _in_new_interpreter(tmp_path / "bad", "undrawable")
    assert said == {"warnings": [], "raised": "ValueError: no field of name mid"}
    assert list((tmp_path / "bad").iterdir()) == []  # nothing half-written


def test_no_fork_while_other_threads_run_and_the_figure_is_drawn_here(tmp_path: Path) -> None:
    from arb.reports.chart_worker import ChartWorker
    from arb.reports.files import write_report
    from arb.reports.summary import summarize
    from tests.unit.test_report import INITIAL, scenario

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="another thread")
    other.start()
    try:
        with ChartWorker.start() as worker:
            assert not worker.forked and worker.pid is None
            fills, equity = scenario()
            write_report(tmp_path / "here", summarize(fills, equity, INITIAL, {"mode": "backtest"}), fills, equity,
                         chart=worker)  # fmt: skip
    finally:
        stop.set()
        other.join()
    _in_new_interpreter(tmp_path / "elsewhere", "here")
    assert _files(tmp_path / "here") == _files(tmp_path / "elsewhere")
