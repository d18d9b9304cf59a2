"""What a sweep writes: results.csv, best.toml, heatmap.png, and the ranked table on the terminal.

- ``results.csv``: one row per grid point in the grid's order: ``index``, ``rank`` (1 = best by the
  objective), each swept key with its value as written, every figure of
  :data:`~arb.sweep.runner.FIGURES` (floats written exactly, so two runs compare bit for bit; empty
  where undefined), ``objective``, ``digest`` (of the fills and equity samples), ``wall_s`` and
  ``worker``.
- ``best.toml``: the best point as a grid file of single values: it reads as the overrides to copy
  into the configuration, and its comment gives the command that runs that point alone, as it runs from
  the folder the sweep ran in (:func:`rerun_command`: the file's path, and the sweep's own ``--config``,
  ``--set``, days and recordings when they were given).
- ``heatmap.png``: the objective over two swept keys; every other swept key is held at the best
  point's value (said in the title), so the map is a slice through the best point, not an average.
"""

from __future__ import annotations

__all__ = [
    "BEST_TOML",
    "HEATMAP_PNG",
    "RESULTS_CSV",
    "heatmap_slice",
    "print_results",
    "rerun_command",
    "write_results",
]

import csv
import io
import math
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from arb.files import write_atomic
from arb.sweep.grid import OBJECTIVES, toml_value
from arb.sweep.runner import FIGURES
from arb.sweep.sweep import SweepResult, objective_value

RESULTS_CSV = "results.csv"
BEST_TOML = "best.toml"
HEATMAP_PNG = "heatmap.png"
_TABLE_ROWS = 20
_TABLE_FIGURES = ("pnl", "fees", "pairs", "win_rate", "pnl_per_pair", "max_drawdown", "sharpe")


def write_results(out: Path, sweep: SweepResult, options: Sequence[str] = ()) -> list[Path]:
    """Write results.csv, best.toml and (when two keys can be shown) heatmap.png into ``out``; the paths.
    ``options``: the sweep's own options best.toml's command repeats (:func:`rerun_command`)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        write_atomic(out / RESULTS_CSV, _csv_text(sweep).encode("utf-8")),
        write_atomic(out / BEST_TOML, _best_toml(sweep, rerun_command(out / BEST_TOML, options)).encode("utf-8")),
    ]
    if sweep.grid.heatmap_axes() is not None:
        paths.append(write_atomic(out / HEATMAP_PNG, _heatmap_png(sweep)))
    return paths


def _describe_point(point: dict[str, Any]) -> str:
    # strategy.min_spread_bps = 5, strategy.cooldown_ms = 0
    return ", ".join(f"{k} = {toml_value(v)}" for k, v in point.items())


def _spelled(value: Any, none: str, yes_no: tuple[str, str], number: Callable[[float], str]) -> str:
    # One value as text: None, a boolean and a float each spelled as given, anything else as str() does.
    if value is None:
        return none
    if isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, float):
        return number(value)
    return str(value)


def _cell(value: Any) -> str:
    # exact and plain: repr of a float round-trips, None is empty, booleans as TOML spells them
    return _spelled(value, "", ("true", "false"), lambda x: repr(x) if math.isfinite(x) else "")


def _csv_text(sweep: SweepResult) -> str:
    f = io.StringIO()
    keys = [p.key for p in sweep.grid.parameters]
    rank = {r.index: i + 1 for i, r in enumerate(sweep.ranked())}
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["index", "rank", *keys, *FIGURES, "objective", "digest", "wall_s", "worker"])
    for r in sweep.results:
        writer.writerow(
            [
                r.index,
                rank[r.index],
                *(_cell(r.point[k]) for k in keys),
                *(_cell(r.figures[name]) for name in FIGURES),
                _cell(objective_value(r, sweep.grid.objective)),
                r.digest,
                _cell(r.wall_s),
                r.worker.name,
            ]
        )
    return f.getvalue()


def rerun_command(best: Path, options: Sequence[str] = ()) -> str:
    """``arb sweep --grid results/sweep-20240808-120000/best.toml --config my.toml``: the command that
    runs best.toml's point alone, from the folder the sweep ran in (``best`` as the sweep named it, so a
    relative path is relative to that folder), with the sweep's ``options`` (``--config``, ``--set``,
    ``--start`` and the like, as given), each word quoted for a POSIX shell where it needs to be."""
    return shlex.join(["arb", "sweep", "--grid", str(best), *options])


def _best_toml(sweep: SweepResult, command: str) -> str:
    best = sweep.best
    value = objective_value(best, sweep.grid.objective)
    shown = "undefined" if value is None else f"{value:.6g}"
    days = f"{sweep.days[0]:%Y-%m-%d}..{sweep.days[-1]:%Y-%m-%d}"
    lines = [
        f"# The best of {len(sweep.results)} points of {sweep.grid.path.name} over {days}:",
        f"# objective {sweep.grid.objective} = {shown} (point {best.index}, digest {best.digest}).",
        "# Keys are spelled as in arbitrage.toml (under their section) and the venue files (under <venue>.).",
        f"# Run this point alone (from the folder the sweep ran in) with: {command}",
        "[grid]",
        *(f'"{k}" = {toml_value(v)}' for k, v in best.point.items()),
        "",
        "[sweep]",
        f'objective = "{sweep.grid.objective}"',
        "",
    ]
    return "\n".join(lines)


def heatmap_slice(sweep: SweepResult) -> tuple[str, str, list[Any], list[Any], list[list[float]], dict[str, Any]]:
    """(x key, y key, x values, y values, objective[y][x] (NaN where undefined or not run), the other
    keys held at the best point's values)."""
    axes = sweep.grid.heatmap_axes()
    if axes is None:
        raise ValueError("the grid has fewer than two keys with several values: no heatmap")
    x_key, y_key = axes
    params = {p.key: p for p in sweep.grid.parameters}
    xs, ys = list(params[x_key].values), list(params[y_key].values)
    held = {k: v for k, v in sweep.best.point.items() if k not in axes}
    grid = [[math.nan] * len(xs) for _ in ys]
    for r in sweep.results:
        if any(r.point[k] != v for k, v in held.items()):
            continue
        value = objective_value(r, sweep.grid.objective)
        grid[ys.index(r.point[y_key])][xs.index(r.point[x_key])] = math.nan if value is None else value
    return x_key, y_key, xs, ys, grid, held


def _heatmap_png(sweep: SweepResult) -> bytes:
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x_key, y_key, xs, ys, grid, held = heatmap_slice(sweep)
    values = np.array(grid, dtype=float)
    fig = Figure(figsize=(max(5.0, 1.1 * len(xs) + 3), max(3.5, 0.6 * len(ys) + 2.5)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="lightgrey")
    image = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(len(xs)), [toml_value(v) for v in xs])
    ax.set_yticks(range(len(ys)), [toml_value(v) for v in ys])
    ax.set_xlabel(x_key)
    ax.set_ylabel(y_key)
    finite = values[np.isfinite(values)]
    middle = (float(finite.min()) + float(finite.max())) / 2 if finite.size else 0.0
    for j, row in enumerate(grid):
        for i, value in enumerate(row):
            text = "n/a" if math.isnan(value) else f"{value:.4g}"
            color = "white" if math.isnan(value) or value < middle else "black"
            ax.text(i, j, text, ha="center", va="center", fontsize=8, color=color)
    fig.colorbar(image, ax=ax, label=sweep.grid.objective)
    title = f"{sweep.grid.objective}: {OBJECTIVES[sweep.grid.objective].split(',')[0]}"
    if held:
        title += "\nothers at the best point: " + _describe_point(held)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _fmt(value: Any) -> str:
    return _spelled(value, "-", ("yes", "no"), lambda x: f"{x:,.4g}" if abs(x) < 1e5 else f"{x:,.0f}")


def _short(key: str, keys: list[str]) -> str:
    # the key's last part when no other key ends the same (the table is narrow; results.csv has the full keys)
    last = key.rsplit(".", 1)[-1]
    return last if sum(k.rsplit(".", 1)[-1] == last for k in keys) == 1 else key


def print_results(sweep: SweepResult, console: Console | None = None, *, rows: int = _TABLE_ROWS) -> None:
    """The points best first (at most ``rows``), then the best settings and each worker's one-off costs."""
    console = console if console is not None else Console()
    days = f"{sweep.days[0]:%Y-%m-%d}..{sweep.days[-1]:%Y-%m-%d}"
    table = Table(
        title=f"arb sweep: {len(sweep.results)} points over {days}, ranked by {sweep.grid.objective}",
        title_justify="left",
    )
    keys = [p.key for p in sweep.grid.parameters]
    table.add_column("#", justify="right")
    for k in keys:
        table.add_column(_short(k, keys), justify="right")
    for name in _TABLE_FIGURES:
        table.add_column(name, justify="right", style="bold" if name == sweep.grid.objective else None)
    if sweep.grid.objective not in _TABLE_FIGURES:
        table.add_column(sweep.grid.objective, justify="right", style="bold")
    ranked = sweep.ranked()
    for r in ranked[:rows]:
        cells = [str(r.index), *(toml_value(r.point[k]) for k in keys), *(_fmt(r.figures[n]) for n in _TABLE_FIGURES)]
        if sweep.grid.objective not in _TABLE_FIGURES:
            cells.append(_fmt(r.figures[sweep.grid.objective]))
        table.add_row(*cells)
    console.print(table)
    if len(ranked) > rows:
        console.print(f"... and {len(ranked) - rows} more points in {RESULTS_CSV}", highlight=False)
    best = sweep.best
    console.print(f"best: {_describe_point(best.point)}", highlight=False, soft_wrap=True)
    compile_s = [w.compile_s for w in sweep.workers]
    spread = f"{min(compile_s):.1f}-{max(compile_s):.1f} s" if compile_s else "-"
    console.print(
        f"{sweep.runner}: {len(sweep.workers)} worker(s), each compiled once ({spread}); sweep {sweep.wall_s:.1f} s",
        highlight=False,
    )
