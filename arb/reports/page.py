"""What arb's HTML pages share: the style sheet, and how a chart drawn with matplotlib goes into a page.

A page is one self-contained file (docs/reports.md): inline CSS, no script to run, nothing to fetch. Charts
drawn by the page itself are inline SVG (:mod:`arb.reports.html`); a chart drawn with matplotlib on an Agg
canvas travels inside the page as a PNG in a ``data:`` URI (:func:`png_img`). This module imports neither the
period report's figures nor matplotlib, so a page that only needs the look loads nothing else.
"""

from __future__ import annotations

__all__ = ["CHARTS_ENV", "PAGE_CSS", "PNG_DPI", "charts_enabled", "png_img"]

import base64
import html
import io
import os
from collections.abc import Callable
from typing import Any, Final

CHARTS_ENV: Final = "ARB_CHARTS"
"""The environment variable that leaves the drawn charts out of every report a command writes:
``ARB_CHARTS=0`` (scripts and CI that never look at them: drawing equity.png is about half the CPU of a short
backtest); unset or ``1`` draws them. Any other value is refused by ``arb`` at start (exit 2)."""


def charts_enabled() -> bool:
    """Whether reports draw their charts (equity.png, scan.html's images): unless :data:`CHARTS_ENV` is ``0``."""
    return os.environ.get(CHARTS_ENV, "1") != "0"


PAGE_CSS: Final = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0}.cards{display:flex;flex-wrap:wrap;gap:.6em}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em .8em;min-width:9em}
.card .v{font-size:1.3em;font-weight:600}.card .k{color:#666;font-size:.85em}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .7em;border-bottom:1px solid #eee}
th{text-align:left;background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.neg{color:#b00020}.pos{color:#1b7f3a}.halt{background:#fde8e8;border:1px solid #b00020;padding:.5em;border-radius:6px}
.note{color:#666;font-size:.85em}svg{display:block;margin:.4em 0}img{display:block;margin:.4em 0;max-width:100%}
.empty{background:#f3f3f3;border:1px solid #bbb;padding:.5em;border-radius:6px;font-weight:600}
"""
"""The style sheet of every arb page, inlined in its ``<style>``."""

PNG_DPI: Final = 110
"""The resolution a page's PNG charts are drawn at, dots per inch (equity.png's): a figure 9 inches wide
fills the page's 1,000 pixels."""


def png_img(draw: Callable[[], Any], alt: str, dpi: int = PNG_DPI) -> str:
    """The figure ``draw()`` returns (a ``matplotlib.figure.Figure`` with an Agg canvas) as an ``<img>``
    element that holds its PNG (base64 in a ``data:`` URI); ``alt`` is the image's text for a reader that
    shows none. With the charts off (:func:`charts_enabled`), nothing is drawn: a note says what was left out."""
    if not charts_enabled():
        return f'<p class="note chart-off">Chart left out ({CHARTS_ENV}=0): {html.escape(alt)}.</p>'
    figure = draw()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt, quote=True)}" src="data:image/png;base64,{data}">'
