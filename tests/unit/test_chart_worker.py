"""equity.png drawn by ``arb backtest``'s forked chart worker (:mod:`arb.reports.chart_worker`): the same
report, byte for byte, as the run drawing it itself; a worker that died or was handed what cannot be drawn
costs only time (drawn in the run's process, a drawing error raised there); and no fork while other threads
run; a worker never asked for a figure stopped at once; and the worker's modules load no Numba (it is
forked before the run imports the kernel).

The forking cases run in one new interpreter, as ``arb backtest`` does, one after the other: the worker
refuses to fork a process with threads running, which a test worker that ran other tests may have.
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

import pytest

from tests.support.captures import ROOT

CASES = ("here", "worker", "dead", "undrawable", "unasked")


def _report(out: Path, how: str) -> dict[str, Any]:
    # Runs in the new interpreter: the hand-worked report of test_report written into ``out``, by a worker
    # or not (``how``); returns what the test reads
    from arb.reports import chart_worker
    from arb.reports import files as report_files
    from arb.reports.chart_worker import ChartWorker
    from arb.reports.files import write_report
    from arb.reports.summary import summarize
    from tests.unit.test_report import INITIAL, scenario

    fills, equity = scenario()
    summary = summarize(fills, equity, INITIAL, {"mode": "backtest"})
    warnings: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("arb.reports.chart_worker")
    for old in list(logger.handlers):  # the last case's
        logger.removeHandler(old)
    logger.addHandler(handler)
    if how == "here":
        write_report(out, summary, fills, equity, draw=True)
        return {"warnings": warnings}
    worker = ChartWorker.start()
    assert worker.forked
    child = worker.pid
    assert child is not None and child != os.getpid()
    if how == "worker":

        def not_here(*args: Any) -> None:  # the worker was forked with the real one: only it may draw
            raise AssertionError("equity.png drawn in the run's process")

        drawing = chart_worker.plot_equity
        for module in (chart_worker, report_files):  # the two places the run's process could draw it
            setattr(module, "plot_equity", not_here)  # noqa: B010 - the module's own name, replaced
        try:
            with worker:
                write_report(out, summary, fills, equity, chart=worker, draw=True)
        finally:
            for module in (chart_worker, report_files):
                setattr(module, "plot_equity", drawing)  # noqa: B010
        return {"warnings": warnings, "reaped": worker.pid is None}
    elif how == "unasked":  # the command failed before its report: the worker is stopped, not waited for
        worker.close()
        return {"warnings": warnings, "exitcode": worker.exitcode, "reaped": worker.pid is None}
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
        write_report(out, summary, fills, equity, chart=worker, draw=True)
    return {"warnings": warnings, "reaped": worker.pid is None}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Every case of :func:`_report` in one new interpreter, each into its own folder; what each returned."""
    root = tmp_path_factory.mktemp("charts")
    for how in CASES:
        (root / how).mkdir()
    script = (f"import json, sys; from pathlib import Path; from {__name__} import CASES, _report; "
              "print(json.dumps({how: _report(Path(sys.argv[1]) / how, how) for how in CASES}))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr  # the worker prints none either
    return root, json.loads(done.stdout.strip().splitlines()[-1])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_worker_writes_the_report_the_run_writes_itself_byte_for_byte(cases: tuple[Path, dict[str, Any]]) -> None:
    root, said = cases
    assert said["here"] == {"warnings": []} and said["worker"] == {"warnings": [], "reaped": True}
    here, worker = _files(root / "here"), _files(root / "worker")
    assert "equity.png" in worker and worker == here


def test_a_worker_that_died_costs_only_time(cases: tuple[Path, dict[str, Any]]) -> None:
    root, said = cases
    [line] = said["dead"]["warnings"]
    assert line.startswith("equity.png is drawn in this process: the chart worker") and said["dead"]["reaped"]
    assert _files(root / "dead") == _files(root / "here")


def test_what_cannot_be_drawn_raises_in_the_run_as_without_a_worker(cases: tuple[Path, dict[str, Any]]) -> None:
    root, said = cases
    assert said["undrawable"] == {"warnings": [], "raised": "ValueError: no field of name mid"}
    assert list((root / "undrawable").iterdir()) == []  # nothing half-written


def test_no_fork_while_other_threads_run_and_the_figure_is_drawn_here(
    cases: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
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
            write_report(tmp_path, summarize(fills, equity, INITIAL, {"mode": "backtest"}), fills, equity,
                         chart=worker, draw=True)  # fmt: skip
    finally:
        stop.set()
        other.join()
    assert _files(tmp_path) == _files(cases[0] / "here")


def test_a_worker_never_asked_for_a_figure_is_stopped_not_waited_for(cases: tuple[Path, dict[str, Any]]) -> None:
    root, said = cases
    assert said["unasked"] == {"warnings": [], "exitcode": -signal.SIGTERM, "reaped": True}
    assert list((root / "unasked").iterdir()) == []


def test_the_worker_and_the_report_modules_it_forks_with_load_no_numba() -> None:
    # arb backtest forks it before importing the run: a child with the kernel's imports would pay for them
    heavy = ("numba", "hftbacktest", "arb.strategies.taker", "matplotlib")
    script = f"import sys, arb.reports.chart_worker; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_after_its_rehearsal_the_worker_imports_nothing_to_draw() -> None:
    # what the drawing imports is imported ahead, beside the run: none of it is left for the run's end
    script = (
        "import io, sys; from arb.reports import chart_worker; from arb.reports.summary import summarize; "
        "from tests.unit.test_report import INITIAL, scenario; chart_worker._rehearse(); "
        "fills, equity = scenario(); summary = summarize(fills, equity, INITIAL, {'mode': 'backtest'}); "
        "before = set(sys.modules); chart_worker.plot_equity(io.BytesIO(), summary, fills, equity); "
        "print(sorted(set(sys.modules) - before))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
