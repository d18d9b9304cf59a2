"""The live scan's page on the ops server (``arb scan --live`` with ``[ops] enabled`` and ``dashboard``).

``GET /`` (and ``/scan``) is one self-contained page, no script or style from elsewhere, that asks
``GET /api/v1/scan`` every second and draws the ranking as a table; ``/api/v1/scan`` answers the newest
ranking the scan published (``{"ranking": null}`` before the first). The scan publishes a JSON-able mapping
(:meth:`ScanBoard.publish`, made on its worker thread): the board encodes it at once and keeps the bytes, one
reference swapped whole, so the server's thread never reads half of one and an open page costs the scan's
loop nothing. Numbers that are not finite are ``null`` (the page shows "-").
"""

from __future__ import annotations

__all__ = ["ScanBoard", "scan_routes"]

import json
from collections.abc import Mapping

from aiohttp import web

from arb.ops.server import RouteSetup

_EMPTY = b'{"ranking":null}'


class ScanBoard:
    """The newest ranking, as the page's JSON (see the module docstring)."""

    __slots__ = ("_body", "published")

    def __init__(self) -> None:
        self._body = _EMPTY
        self.published = 0
        """How many rankings were published."""

    def publish(self, ranking: Mapping[str, object]) -> None:
        """Keep ``ranking`` (``{"start_ns", "end_ns", "rows": [...], "states": [...]}``, every float finite or
        None) as the answer of ``/api/v1/scan``; raises ``ValueError`` on a NaN or infinity."""
        self._body = json.dumps({"ranking": ranking}, separators=(",", ":"), allow_nan=False).encode()
        self.published += 1

    def body(self) -> bytes:
        """The newest answer of ``/api/v1/scan``."""
        return self._body


def scan_routes(board: ScanBoard) -> RouteSetup:
    """The routes of the scan's page, reading ``board`` (for :class:`~arb.ops.server.OpsServer`)."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=_PAGE, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def status(request: web.Request) -> web.Response:
        return web.Response(body=board.body(), content_type="application/json", headers={"Cache-Control": "no-cache"})

    def setup(app: web.Application) -> None:
        app.router.add_get("/", page)
        app.router.add_get("/scan", page)
        app.router.add_get("/api/v1/scan", status)

    return setup


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>arb scan --live</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{padding:.25em .6em;border-bottom:1px solid #ddd;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.off{color:#a60}#state{color:#666}
</style></head><body>
<h1>arb scan --live</h1><p id="state">connecting</p>
<table><thead><tr><th>#</th><th>symbol</th><th>buy &rarr; sell</th><th>capturable</th><th>edge</th>
<th>crossable</th><th>above</th><th>episodes</th><th>ep p50 ms</th><th>net p50</th><th>net max</th>
<th>now bps</th><th>lead</th><th>state</th></tr></thead><tbody id="rows"></tbody></table>
<script>
"use strict";
const num = (v, d) => v === null || v === undefined ? "-" : v.toLocaleString(undefined,
  {minimumFractionDigits: d, maximumFractionDigits: d});
const pct = v => v === null ? "-" : (100 * v).toFixed(1) + "%";
function cell(tr, text, n) { const td = tr.insertCell(); td.textContent = text; if (n) td.className = "n"; }
function draw(r) {
  const body = document.getElementById("rows");
  body.replaceChildren();
  r.rows.forEach((row, i) => {
    const bad = [["buy", row.buy_venue], ["sell", row.sell_venue]]
      .filter(([s]) => row[s + "_state"] !== "live").map(([s, v]) => v + " " + row[s + "_state"]);
    const tr = body.insertRow(); if (bad.length) tr.className = "off";
    cell(tr, i + 1, true); cell(tr, row.symbol); cell(tr, row.buy_venue + " \\u2192 " + row.sell_venue);
    cell(tr, num(row.capturable_quote_at_latency, 2), true); cell(tr, num(row.edge_quote, 2), true);
    cell(tr, num(row.crossable_quote, 0), true); cell(tr, pct(row.share_above), true);
    cell(tr, row.episodes, true); cell(tr, num(row.episode_ms_p50, 0), true);
    cell(tr, num(row.net_bps_p50, 1), true); cell(tr, num(row.net_bps_max, 1), true);
    cell(tr, bad.length ? (row.buy_state !== "live" ? row.buy_state : row.sell_state) : num(row.net_bps_now, 1), true);
    cell(tr, row.lead_venue ? row.lead_venue + " " + num(row.lead_ms, 0) + " ms" : "-");
    cell(tr, bad.length ? bad.join(", ") : "live");
  });
  const off = r.states.filter(s => s.state !== "live").map(s => s.venue + " " + s.symbol + " " + s.state);
  const live = off.length ? "not live: " + off.join(", ") : "every venue live";
  document.getElementById("state").textContent = new Date(r.end_ns / 1e6).toISOString() + " \\u00b7 window "
    + ((r.end_ns - r.start_ns) / 1e9) + " s \\u00b7 " + live;
}
async function poll() {
  try {
    const answer = await (await fetch("/api/v1/scan", {cache: "no-store"})).json();
    if (answer.ranking) draw(answer.ranking); else document.getElementById("state").textContent = "waiting";
  } catch (e) { document.getElementById("state").textContent = "reconnecting"; }
  setTimeout(poll, 1000);
}
poll();
</script></body></html>
"""
