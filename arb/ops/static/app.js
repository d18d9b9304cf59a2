// The arb live dashboard. The first paint comes with the page (/api/v1/history.js), then one
// EventSource on /events (same origin) resumes after it; see arb/ops/dashboard.py for the messages.
// Nothing here fetches from anywhere but the server that served the page.
//
// The page names no venue itself: the snapshot's venue_list gives the run's venues in order (name, and
// title as a person reads it) and its directions every ordered pair of them (buy_<a>_sell_<b>), in the
// order of every spread and edge list and of the chart points' edges (arb/ops/dashboard.py). A column
// per venue, a line and a figure per direction: two venues give two directions, three give six.
//
// Machine-readable state for tests and scripts:
//   <body data-status="connecting|live|reconnecting" data-trading="trading|halted|paused"
//         data-reconnects="N" data-transitions="connecting>live>reconnecting>live" data-last-id="S-E"
//         data-symbols="one|several" data-data="live|replay" data-venues="<a>,<b>,..."
//         data-directions="buy_<a>_sell_<b>,buy_<b>_sell_<a>,...">  (the run's venue names)
//   (data-status is the connection to the process; data-data where its market data comes from: a
//   replay shows REPLAY in the status pill, never LIVE)
//   the spread charts draw the edge the kernel compares with the entry threshold (net of both venues'
//   taker fees and the slippage tolerance), a line per direction, so a curve crosses the line where a
//   pair can open
//   #chart-spread / #chart-equity [data-points="N"]: points held by each chart (one symbol);
//   #chart-spread [data-lines="K"]: the direction lines it draws
//   #chart-spread-<SYMBOL> / #chart-equity [data-points="N"]: the same with several symbols
//   #kpi-edge-<direction> [data-value]: each direction's edge now (one symbol)
//   #sym-edge-<SYMBOL>-<direction> [data-value]: each symbol's edge per direction
//   #pos-<venue>, #base-<venue>, #quote-<venue> [data-value]: the account as last received (one symbol)
//   #pos-<SYMBOL>-<venue>, #base-<SYMBOL>-<venue>, #quote-<venue> [data-value]: the same with several
//   #sym-<SYMBOL> rows of the symbols table, #sym-pnl-<SYMBOL> [data-value]: each symbol's PnL
(function () {
  "use strict";

  const MAX_POINTS = 20000; // kept per chart in the browser (the oldest drop out)
  const MAX_ROWS = 50; // recent fills and orders shown
  const MAX_EVENTS = 100; // alerts and events shown
  const RECONNECT_MS = [1000, 2000, 5000]; // when the browser gives up on its own retries

  const body = document.body;
  const $ = (id) => document.getElementById(id);

  // the direction lines' colours, in the directions' order (the first two as the page always drew them)
  const LINE_COLOURS = ["#58a6ff", "#f0883e", "#d2a8ff", "#56d4dd", "#e3b341", "#ff7b72", "#a5d6ff", "#ffa657",
    "#bc8cff", "#f778ba", "#c9d1d9", "#8b949e"];

  // -- state -------------------------------------------------------------------------------------
  // the run: its venues ({name, title}, in order) and directions ({name, buy, sell}), fixed for the
  // process once a snapshot names them (the columns are made once)
  let venues = [];
  let directions = [];
  // chart columns: the time, one edge column per direction, the entry threshold, equity and PnL
  const cols = { t: [], edges: [], entry: [], equity: [], pnl: [] };
  // with several symbols: their names (the snapshot's order), and each one's spread columns
  let symbolNames = [];
  const symCols = {};
  const spreadCharts = {};
  let latest = null;
  let lastId = "";
  let source = null;
  let attempt = 0;
  let reconnects = 0;
  const transitions = [];
  let maxEventId = 0; // the server's event numbers only grow: one already seen is not added twice
  const fills = [];
  const orders = [];
  const others = [];
  let spreadChart = null;
  let equityChart = null;

  // -- formatting ----------------------------------------------------------------------------------
  const dash = "\u2013";
  function num(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return dash;
    return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function sig(x, n) {
    if (x === null || x === undefined || !isFinite(x)) return dash;
    if (x === 0) return "0";
    return Number(x.toPrecision(n || 8)).toString();
  }
  function price(x) {
    if (x === null || x === undefined || !isFinite(x)) return dash;
    const a = Math.abs(x);
    return num(x, a >= 1000 ? 2 : a >= 1 ? 4 : 6);
  }
  function signed(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return dash;
    return (x > 0 ? "+" : "") + num(x, digits);
  }
  function cls(x) {
    return x === null || x === undefined || !isFinite(x) || x === 0 ? "" : x > 0 ? "pos" : "neg";
  }
  function clock(ns) {
    if (!ns) return dash;
    const d = new Date(ns / 1e6);
    return d.toISOString().replace("T", " ").slice(0, 23);
  }
  function timeOnly(ns) {
    if (!ns) return dash;
    return new Date(ns / 1e6).toISOString().slice(11, 23);
  }
  function duration(s) {
    if (!isFinite(s) || s < 0) return dash;
    if (s < 60) return s.toFixed(0) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function micros(us) {
    if (us === null || us === undefined || !isFinite(us)) return dash;
    if (us >= 1e6) return (us / 1e6).toFixed(2) + " s";
    if (us >= 1e3) return (us / 1e3).toFixed(us >= 1e4 ? 0 : 1) + " ms";
    return us.toFixed(0) + " \u00b5s";
  }
  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (className) e.className = className;
    return e;
  }
  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.appendChild(c);
    return tr;
  }
  function td(text, className, id, value) {
    const e = el("td", text, className);
    if (id) e.id = id;
    if (value !== undefined) e.dataset.value = value === null ? "" : String(value);
    return e;
  }
  function withUnit(e, text, unit) {
    e.replaceChildren(document.createTextNode(text), el("span", " " + unit, "unit"));
  }
  function replaceRows(tableId, rows) {
    const tbody = $(tableId).tBodies[0];
    tbody.replaceChildren(...rows);
  }

  // -- connection status -----------------------------------------------------------------------------
  function setStatus(status) {
    if (body.dataset.status === status) return;
    body.dataset.status = status;
    transitions.push(status);
    body.dataset.transitions = transitions.join(">");
    renderPills();
  }

  function renderPills() {
    const status = body.dataset.status;
    const pill = $("status");
    // connected to a process replaying a recording: say so, a replay is not the market now
    const replay = status === "live" && body.dataset.data === "replay";
    pill.textContent = replay ? "replay" : status;
    pill.className = "pill " + status + (replay ? " replay" : "");
    pill.title = replay ? "connected to a process replaying a recording (not live market data)"
      : "connection to the running process";
    const tr = $("trading");
    const trading = body.dataset.trading;
    tr.textContent = trading === "unknown" ? dash : trading;
    tr.className = "pill " + (trading === "unknown" ? "neutral" : trading);
  }

  // -- charts ------------------------------------------------------------------------------------------
  function utc(ts) {
    return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
  }
  const axisStyle = { stroke: "#7d8a99", grid: { stroke: "#263140", width: 1 }, ticks: { stroke: "#263140" } };
  // the time axis in UTC, 24-hour: "23:55:10", with the date under the first tick and where it changes
  function timeTicks(u, ticks) {
    let day = "";
    return ticks.map((t) => {
      const iso = new Date(t * 1e3).toISOString();
      const d = iso.slice(0, 10);
      const hms = iso.slice(11, 19);
      const label = d !== day ? hms + "\n" + d : hms;
      day = d;
      return label;
    });
  }
  const timeAxis = Object.assign({ values: timeTicks, space: 80, size: 50 }, axisStyle);
  const timeSeries = { label: "UTC", value: (u, v) => (v === null || v === undefined ? dash : clock(v * 1e9)) };

  function chartWidth(id) {
    return Math.max(300, $(id).clientWidth);
  }

  // how a person reads a venue: its title from the snapshot, else its name
  function title(name) {
    const v = venues.find((x) => x.name === name);
    return v ? v.title : name;
  }
  function directionLabel(d) {
    return "buy " + title(d.buy) + " / sell " + title(d.sell);
  }

  // The run's venues and directions from a snapshot, once: its own lists, else (an older process) the
  // venues of its accounts or feeds and every ordered pair of them
  function setRun(s) {
    if (venues.length) return;
    if (s.venue_list && s.venue_list.length) {
      venues = s.venue_list.map((v) => ({ name: v.name, title: v.title || v.name }));
    } else {
      const names = s.accounts && s.accounts.length ? s.accounts.map((a) => a.venue)
        : [...new Set((s.feeds || []).map((f) => f.venue))];
      venues = names.map((name) => ({ name, title: name }));
    }
    if (s.directions && s.directions.length) {
      directions = s.directions.map((d) => ({ name: d.name, buy: d.buy, sell: d.sell }));
    } else {
      directions = [];
      for (const b of venues) for (const v of venues) {
        if (b !== v) directions.push({ name: "buy_" + b.name + "_sell_" + v.name, buy: b.name, sell: v.name });
      }
    }
    cols.edges = directions.map(() => []);
    body.dataset.venues = venues.map((v) => v.name).join(",");
    body.dataset.directions = directions.map((d) => d.name).join(",");
    makeEdgeKpis();
    makeSymbolHead();
  }

  function spreadOptions(id) {
    const bps = (u, v) => sig(v, 4) + " bps";
    return {
      width: chartWidth(id),
      height: 240,
      tzDate: utc,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      legend: { live: true },
      series: [
        timeSeries,
        ...directions.map((d, i) => ({ label: directionLabel(d), stroke: LINE_COLOURS[i % LINE_COLOURS.length],
          width: 1.5, value: bps })),
        { label: "entry threshold (min_spread_bps)", stroke: "#3fb950", width: 1, dash: [6, 4], value: bps },
      ],
      axes: [timeAxis, Object.assign({ label: "edge net of fees (bps)", size: 60 }, axisStyle)],
    };
  }

  function spreadData(name) {
    const c = name === undefined ? cols : symCols[name];
    return [cols.t, ...c.edges, c.entry];
  }

  // several symbols: a spread chart per symbol in place of the one
  function makeSymbolCharts() {
    const single = $("spread-panel");
    if (single) single.remove();
    for (const name of symbolNames) {
      const id = "chart-spread-" + name;
      const panel = el("div", null, "panel");
      const head = el("h2", name + " edge at the touch ");
      head.appendChild(el("span", "bps per direction, net of both venues' taker fees and the slippage tolerance", "unit"));
      const div = el("div", null, "chart");
      div.id = id;
      div.dataset.points = "0";
      div.dataset.lines = String(directions.length);
      panel.append(head, div);
      $("charts").appendChild(panel);
      spreadCharts[name] = new uPlot(spreadOptions(id), spreadData(name), div);
    }
  }

  // a figure per direction among the KPIs, before the entry threshold's (one symbol)
  function makeEdgeKpis() {
    const kpis = $("kpis");
    for (const d of directions) {
      const tile = el("div", null, "kpi one-symbol");
      const label = el("div", "Edge " + directionLabel(d), "label");
      label.title = label.textContent;
      const value = el("div", "-", "value");
      value.id = "kpi-edge-" + d.name;
      tile.append(label, value);
      kpis.insertBefore(tile, $("kpi-entry-tile"));
    }
    const tiles = kpis.children.length;
    kpis.style.setProperty("--kpi-columns", String(tiles <= 7 ? tiles : Math.ceil(tiles / 2)));
  }

  // the symbols table's head: an edge column per direction, a position column per venue
  function makeSymbolHead() {
    const head = (text, id) => {
      const th = el("th", text, "n");
      if (id) th.id = id;
      return th;
    };
    $("symbols").tHead.rows[0].replaceChildren(
      el("th", "Symbol"), head("Net PnL"), head("Fees"), head("Pairs"), head("Fills"),
      ...directions.map((d) => head("Edge " + directionLabel(d), "sym-head-edge-" + d.name)),
      head("Entry threshold"),
      ...venues.map((v) => head("Position " + v.title, "sym-head-pos-" + v.name)),
      el("th", "Lone leg"),
    );
  }

  function makeCharts() {
    const quote = latest ? latest.quote : "";
    $("pnl-unit").textContent = quote;
    if (symbolNames.length) {
      makeSymbolCharts();
    } else {
      spreadChart = new uPlot(spreadOptions("chart-spread"), spreadData(), $("chart-spread"));
      $("chart-spread").dataset.lines = String(directions.length);
    }
    equityChart = new uPlot({
      width: chartWidth("chart-equity"),
      height: 240,
      tzDate: utc,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, eq: {}, pnl: {} },
      series: [
        timeSeries,
        { label: "equity", stroke: "#a371f7", width: 1.5, scale: "eq", value: (u, v) => num(v, 2) },
        { label: "net PnL", stroke: "#3fb950", width: 1.5, scale: "pnl", fill: "rgba(63,185,80,0.08)", value: (u, v) => num(v, 2) },
      ],
      axes: [
        timeAxis,
        Object.assign({ scale: "eq", label: "equity (" + quote + ")", size: 80 }, axisStyle),
        Object.assign({ scale: "pnl", side: 1, label: "net PnL (" + quote + ")", size: 70, grid: { show: false } }, axisStyle),
      ],
    }, [cols.t, cols.equity, cols.pnl], $("chart-equity"));
  }

  function redrawCharts() {
    if (!equityChart) {
      if (!latest) return;
      makeCharts();
    } else {
      if (symbolNames.length) {
        for (const name of symbolNames) spreadCharts[name].setData(spreadData(name));
      } else {
        spreadChart.setData(spreadData());
      }
      equityChart.setData([cols.t, cols.equity, cols.pnl]);
    }
    if (symbolNames.length) {
      for (const name of symbolNames) $("chart-spread-" + name).dataset.points = String(cols.t.length);
    } else {
      $("chart-spread").dataset.points = String(cols.t.length);
    }
    $("chart-equity").dataset.points = String(cols.t.length);
  }

  // several symbols: the names a snapshot gives, fixed for the process (its columns are made once)
  function setSymbols(s) {
    if (symbolNames.length || !s.symbols || s.symbols.length < 2) return;
    symbolNames = s.symbols.map((x) => x.symbol);
    for (const name of symbolNames) symCols[name] = { edges: directions.map(() => []), entry: [], pnl: [] };
  }

  // every column of the charts (each edge column one of them), to trim or clear them alike
  function columns() {
    const out = [cols.t, ...cols.edges, cols.entry, cols.equity, cols.pnl];
    for (const name of symbolNames) out.push(...symCols[name].edges, symCols[name].entry, symCols[name].pnl);
    return out;
  }

  // A point: [t, an edge per direction, entry, equity, pnl], then with several symbols each one's edges,
  // entry and PnL
  function addPoints(points) {
    const k = directions.length;
    const at = (p, i) => (p.length > i ? p[i] : null);
    for (const p of points) {
      cols.t.push(p[0]);
      cols.edges.forEach((c, d) => c.push(at(p, 1 + d)));
      cols.entry.push(at(p, 1 + k));
      cols.equity.push(at(p, 2 + k));
      cols.pnl.push(at(p, 3 + k));
      symbolNames.forEach((name, i) => {
        const c = symCols[name];
        const from = 4 + k + (k + 2) * i; // each symbol's edges, entry and PnL after the account's
        c.edges.forEach((e, d) => e.push(at(p, from + d)));
        c.entry.push(at(p, from + k));
        c.pnl.push(at(p, from + k + 1));
      });
    }
    const extra = cols.t.length - MAX_POINTS;
    if (extra > 0) {
      for (const c of columns()) c.splice(0, extra);
    }
  }

  function clearAll() {
    for (const c of columns()) c.length = 0;
    fills.length = 0;
    orders.length = 0;
    others.length = 0;
    maxEventId = 0;
  }

  window.addEventListener("resize", () => {
    for (const name of symbolNames) {
      if (spreadCharts[name]) spreadCharts[name].setSize({ width: chartWidth("chart-spread-" + name), height: 240 });
    }
    if (spreadChart) spreadChart.setSize({ width: chartWidth("chart-spread"), height: 240 });
    if (equityChart) equityChart.setSize({ width: chartWidth("chart-equity"), height: 240 });
  });

  // -- snapshot panels -------------------------------------------------------------------------------
  function renderSnapshot(s) {
    latest = s;
    setRun(s);
    setSymbols(s);
    body.dataset.symbols = symbolNames.length ? "several" : "one";
    $("symbol").textContent = symbolNames.length ? symbolNames.join(" \u00b7 ") : s.symbol;
    const data = s.data === "replay" ? "replay" : "live";
    body.dataset.data = data;
    const what = s.mode === "record" ? "recording" : s.mode === "live" ? "live trading"
      : s.mode + (data === "replay" ? " \u00b7 replay of a recording" : " \u00b7 live data");
    $("mode").textContent = what;
    document.title = "arb - " + (data === "replay" ? "REPLAY" : s.mode === "live" ? "LIVE TRADING" : s.mode);
    $("clock").textContent = clock(s.ts_ns);
    const q = s.quote;
    withUnit($("kpi-equity"), num(s.equity, 2), q);
    const pnl = $("kpi-pnl");
    withUnit(pnl, signed(s.pnl, 2), q);
    pnl.className = "value " + cls(s.pnl);
    withUnit($("kpi-fees"), num(s.fees, 2), q);
    $("kpi-pairs").textContent = String(s.pairs);
    directions.forEach((d, i) => {
      // the edge the kernel compares with the entry threshold; the gross spread in the tooltip
      const k = $("kpi-edge-" + d.name);
      const v = s.edge_bps && s.edge_bps[i] !== undefined ? s.edge_bps[i] : null;
      k.textContent = v === null ? dash : sig(v, 4) + " bps";
      k.className = "value" + (v !== null && s.entry_bps !== null && v >= s.entry_bps ? " pos" : "");
      k.dataset.value = v === null ? "" : String(v);
      const gross = s.spread_bps && s.spread_bps[i] !== undefined ? s.spread_bps[i] : null;
      k.title = "net of both venues' taker fees and the slippage tolerance; gross spread at the touch " +
        (gross === null ? dash : sig(gross, 4) + " bps");
    });
    $("kpi-entry").textContent = s.entry_bps === null ? dash : sig(s.entry_bps, 4) + " bps";
    $("loop-lag").textContent = s.loop_lag_ms ? s.loop_lag_ms.toFixed(2) + " ms" : dash;

    const trading = s.halted ? "halted" : s.paused ? "paused" : "trading";
    body.dataset.trading = s.mode === "record" ? "recording" : trading;
    const banner = $("banner");
    if (s.halted) {
      banner.hidden = false;
      banner.className = "banner halted";
      banner.textContent = "Trading halted: " + s.halted;
    } else if (s.paused) {
      banner.hidden = false;
      banner.className = "banner paused";
      banner.textContent = "New pairs paused: " + s.paused;
    } else {
      banner.hidden = true;
    }
    renderPills();
    renderSymbols(s);
    renderAccounts(s);
    renderInventory(s);
    renderFeeds(s);
    renderLimits(s);
    renderLatency(s);
    renderAge();
  }

  // one row per symbol: its PnL, fees, pairs, fills, every direction's edge, its entry threshold and
  // its position on each venue
  function renderSymbols(s) {
    $("symbols-panel").hidden = !(s.symbols && s.symbols.length); // none while recording
    replaceRows("symbols", (s.symbols || []).map((st) => {
      const fills = st.accounts.reduce((x, a) => x + a.fills, 0);
      // the edge the kernel compares with the entry threshold, coloured as the KPIs and the chart
      const spread = (d, i) => {
        const v = st.edge_bps && st.edge_bps[i] !== undefined ? st.edge_bps[i] : null;
        const c = td(v === null ? dash : sig(v, 4), "n" + (v !== null && st.entry_bps !== null && v >= st.entry_bps ? " pos" : ""),
          "sym-edge-" + st.symbol + "-" + d.name, v);
        const gross = st.spread_bps && st.spread_bps[i] !== undefined ? st.spread_bps[i] : null;
        c.title = directionLabel(d) + ": gross spread at the touch " + (gross === null ? dash : sig(gross, 4) + " bps");
        return c;
      };
      const tr = row([
        el("td", st.symbol),
        td(signed(st.pnl, 2), "n " + cls(st.pnl), "sym-pnl-" + st.symbol, st.pnl),
        td(num(st.fees, 2), "n"),
        td(String(st.pairs), "n"),
        td(String(fills), "n"),
        ...directions.map(spread),
        td(st.entry_bps === null ? dash : sig(st.entry_bps, 4), "n"),
        ...st.accounts.map((a) => td(sig(a.position, 8), "n " + cls(a.position), "sym-pos-" + st.symbol + "-" + a.venue,
          a.position)),
        td(st.naked ? "open" : dash, st.naked ? "err" : "muted"),
      ]);
      tr.id = "sym-" + st.symbol;
      return tr;
    }));
  }

  function rejectsCell(rejects) {
    const n = Object.values(rejects).reduce((x, y) => x + y, 0);
    const title = Object.entries(rejects).map(([k, v]) => k + ": " + v).join(", ");
    const r = td(String(n), "n" + (n ? " warn" : ""));
    if (title) r.title = title;
    return r;
  }

  // One row of the accounts table: who (a symbol, or "account"), the venue, `figures` (position, base,
  // quote, bid, ask), the order counts every row has, then `unknown`.
  function accountRow(who, a, figures, unknown) {
    return row([
      el("td", who),
      el("td", title(a.venue)),
      ...figures,
      td(String(a.open_orders), "n"),
      td(String(a.orders), "n"),
      td(String(a.fills), "n"),
      rejectsCell(a.rejects),
      unknown,
    ]);
  }

  function quoteCell(a) {
    return td(num(a.quote, 2), "n", "quote-" + a.venue, a.quote);
  }

  function unknownCell(a) {
    return td(String(a.unknown_orders), "n" + (a.unknown_orders ? " err" : ""));
  }

  // a symbol's position and coins on a venue, then its quote cell and the venue's book
  function symbolFigures(a, key, quote) {
    return [
      td(sig(a.position, 8), "n " + cls(a.position), "pos-" + key, a.position),
      td(sig(a.base, 8), "n", "base-" + key, a.base),
      quote,
      td(price(a.bid), "n"),
      td(price(a.ask), "n"),
    ];
  }

  function renderAccounts(s) {
    if (!symbolNames.length) {
      replaceRows("accounts", s.accounts.map((a) =>
        accountRow(s.symbol, a, symbolFigures(a, a.venue, quoteCell(a)), unknownCell(a))));
      return;
    }
    // several symbols: each symbol's rows (its position and coins), then each venue's quote and totals
    const rows = [];
    for (const st of s.symbols) {
      for (const a of st.accounts) {
        const key = st.symbol + "-" + a.venue;
        rows.push(accountRow(st.symbol, a, symbolFigures(a, key, td(dash, "n muted")), td(dash, "n muted")));
      }
    }
    for (const a of s.accounts) {
      const tr = accountRow("account", a, [td(dash, "n"), td(dash, "n"), quoteCell(a), td(dash, "n"), td(dash, "n")],
        unknownCell(a));
      tr.className = "account";
      rows.push(tr);
    }
    replaceRows("accounts", rows);
  }

  // each direction's pairs left at the configured size (0: it cannot trade, with the side that ran out),
  // then each venue's coins and quote, available and held by open orders (arb.results.inventory)
  function renderInventory(s) {
    const inv = s.inventory || [];
    $("inventory-panel").hidden = !inv.length; // none while recording
    const named = (d) => (d.buy && d.sell ? directionLabel(d) : d.direction);
    replaceRows("directions", inv.flatMap((one) => one.directions.map((d) => {
      const left = d.pairs_left;
      const state = left === null ? "unknown" : d.can_trade ? "ok" : "cannot";
      const cell = td(left === null ? dash : state === "cannot" ? "0 \u00b7 cannot trade" : String(left),
        "n" + (state === "cannot" ? " err" : state === "ok" && left < 3 ? " warn" : ""),
        "pairs-left-" + one.symbol + "-" + d.direction, left);
      const tr = row([el("td", one.symbol), el("td", named(d)), td(sig(d.size, 8), "n"), cell,
        el("td", d.limit || dash, d.limit ? "" : "muted")]);
      tr.dataset.canTrade = d.can_trade ? "yes" : "no";
      return tr;
    })));
    const quoteShown = new Set(); // a venue's quote is the account's: on its first symbol's row only
    replaceRows("inventory", inv.flatMap((one) => one.venues.map((v) => {
      const key = one.symbol + "-" + v.venue;
      const first = !quoteShown.has(v.venue);
      quoteShown.add(v.venue);
      return row([
        el("td", one.symbol), el("td", title(v.venue)),
        td(sig(v.base_available, 8), "n", "inv-base-" + key, v.base_available),
        td(sig(v.base_reserved, 8), "n" + (v.base_reserved ? " warn" : ""), "inv-base-held-" + key, v.base_reserved),
        first ? td(num(v.quote_available, 2), "n", "inv-quote-" + v.venue, v.quote_available) : td(dash, "n muted"),
        first ? td(num(v.quote_reserved, 2), "n" + (v.quote_reserved ? " warn" : ""), "inv-quote-held-" + v.venue,
          v.quote_reserved) : td(dash, "n muted"),
      ]);
    })));
  }

  function renderFeeds(s) {
    $("feeds-empty").hidden = s.feeds.length > 0;
    replaceRows("feeds", s.feeds.map((f) => {
      let state = "ok", text = "synced";
      if (!f.connected) { state = "err"; text = "disconnected"; }
      else if (f.stale) { state = "warn"; text = "stale"; }
      else if (!f.synced) { state = "warn"; text = "syncing"; }
      const ep = td(f.endpoint, "endpoint");
      ep.title = f.endpoint;
      return row([
        el("td", title(f.venue) + " " + f.market),
        el("td", f.symbol),
        td(text, state),
        td(f.age_ms === null ? dash : f.age_ms < 1000 ? f.age_ms.toFixed(0) + " ms" : (f.age_ms / 1000).toFixed(1) + " s", "n"),
        td(String(f.messages), "n"),
        td(String(f.gaps), "n" + (f.gaps ? " warn" : "")),
        td(String(f.resyncs), "n" + (f.resyncs ? " warn" : "")),
        td(String(f.reconnects), "n" + (f.reconnects ? " warn" : "")),
        td(String(f.decode_errors), "n" + (f.decode_errors ? " err" : "")),
        ep,
      ]);
    }));
  }

  // limits whose value is not "use" (a higher value is not closer to the limit)
  const NOT_USE = new Set(["min_pair_interval_ms"]);

  function renderLimits(s) {
    // one symbol: its limits are all there is; several: the account's, then each symbol's own
    const all = s.limits.map((u) => [symbolNames.length ? "account" : s.symbol, "limit-" + u.key, u]);
    if (symbolNames.length) {
      for (const st of s.symbols) for (const u of st.limits) all.push([st.symbol, "limit-" + st.symbol + "-" + u.key, u]);
    }
    replaceRows("limits", all.map(([scope, id, u]) => {
      const set = u.limit !== null && u.limit !== 0;
      const bar = el("div", null, "bar");
      const fill = el("div");
      if (set && !NOT_USE.has(u.key) && u.value !== null) {
        const frac = Math.max(0, Math.min(1, Math.abs(u.value) / u.limit));
        fill.style.width = (frac * 100).toFixed(1) + "%";
        fill.className = frac >= 0.9 ? "high" : frac >= 0.6 ? "mid" : "";
        bar.title = (frac * 100).toFixed(0) + "% of the limit";
      } else {
        fill.style.width = "0";
      }
      bar.appendChild(fill);
      const barCell = el("td");
      barCell.appendChild(bar);
      const tr = row([
        el("td", u.key),
        el("td", scope, scope === "account" ? "muted" : ""),
        td(sig(u.value, 6), "n"),
        td(set ? sig(u.limit, 6) : "not set", "n" + (set ? "" : " muted")),
        barCell,
        td(String(u.refused), "n" + (u.refused ? " err" : "")),
      ]);
      tr.id = id;
      return tr;
    }));
  }

  function renderLatency(s) {
    replaceRows("latency", s.latencies.filter((l) => l.count > 0).map((l) => row([
      el("td", l.name.replace(/_/g, " ")),
      el("td", l.venue ? title(l.venue) : dash),
      td(String(l.count), "n"),
      td(micros(l.mean_us), "n"),
      td(micros(l.p50_us), "n"),
      td(l.p99_us === null && l.count ? "> 5 s" : micros(l.p99_us), "n"),
    ])));
  }

  function renderAge() {
    if (!latest) return;
    $("age").textContent = duration((Date.now() * 1e6 - latest.wall_ns) / 1e9) + " ago";
    $("uptime").textContent = latest.started_wall_ns ? duration((latest.wall_ns - latest.started_wall_ns) / 1e9) : dash;
  }
  setInterval(renderAge, 1000);

  // -- events ------------------------------------------------------------------------------------------
  const SEVERITY = {
    halt: "bad", hedge_failed: "bad", naked_leg: "bad", breach: "warn", reject: "warn", disconnect: "bad",
    stale: "warn", resync: "warn", disk_low: "warn", info: "info",
  };

  function addEvent(e) {
    if (e.id <= maxEventId) return;
    maxEventId = e.id;
    if (e.kind === "fill") {
      fills.unshift(e);
      if (fills.length > MAX_ROWS) fills.pop();
    } else if (e.kind === "order") {
      orders.unshift(e);
      if (orders.length > MAX_ROWS) orders.pop();
    } else {
      others.unshift(e);
      if (others.length > MAX_EVENTS) others.pop();
    }
  }

  function renderEvents() {
    replaceRows("fills", fills.map((e) => {
      const f = e.fields;
      return row([
        td(timeOnly(e.ts_ns)), el("td", f.symbol || ""), el("td", title(e.venue)), td(f.side, f.side),
        td(sig(f.qty, 8), "n"), td(price(f.price), "n"), td(sig(f.fee, 6), "n"), el("td", f.kind), td(String(f.pair_id), "n"),
      ]);
    }));
    replaceRows("orders", orders.map((e) => {
      const f = e.fields;
      const st = f.status === "rejected" ? "err" : f.status === "canceled" || f.status === "partial" ? "warn" : "ok";
      return row([
        td(timeOnly(e.ts_ns)), el("td", f.symbol || ""), el("td", title(e.venue)), td(f.side, f.side),
        td(sig(f.qty, 8), "n"), td(price(f.price), "n"), td(f.status, st), td(f.latency_ns ? micros(f.latency_ns / 1e3) : dash, "n"),
        el("td", f.code || ""),
      ]);
    }));
    $("events").replaceChildren(...others.map((e) => {
      const li = el("li", null, "sev-" + (e.resolved ? "ok" : SEVERITY[e.kind] || "info"));
      li.appendChild(el("span", clock(e.ts_ns), "t"));
      li.appendChild(el("span", e.kind.replace(/_/g, " ") + (e.resolved ? " \u2713" : ""), "k"));
      li.appendChild(el("span", e.text));
      return li;
    }));
  }

  // -- the stream ---------------------------------------------------------------------------------------
  function remember(ev) {
    if (ev.lastEventId) {
      lastId = ev.lastEventId;
      body.dataset.lastId = lastId;
    }
  }

  function onHistory(ev) {
    remember(ev);
    applyHistory(JSON.parse(ev.data));
  }

  function applyHistory(h) {
    clearAll();
    if (h.snapshot) renderSnapshot(h.snapshot);
    addPoints(h.points);
    for (const e of h.events) addEvent(e);
    renderEvents();
    redrawCharts();
  }

  function onSnapshot(ev) {
    remember(ev);
    const m = JSON.parse(ev.data);
    renderSnapshot(m.snapshot);
    addPoints(m.points);
    redrawCharts();
  }

  let eventsDirty = false;
  function onEvent(ev) {
    remember(ev);
    addEvent(JSON.parse(ev.data));
    if (!eventsDirty) {
      eventsDirty = true;
      requestAnimationFrame(() => { eventsDirty = false; renderEvents(); });
      setTimeout(() => { if (eventsDirty) { eventsDirty = false; renderEvents(); } }, 250);
    }
  }

  function connect() {
    // a fresh EventSource cannot set Last-Event-ID: the server also reads ?last=
    const url = "/events" + (lastId ? "?last=" + encodeURIComponent(lastId) : "");
    const es = new EventSource(url);
    source = es;
    es.addEventListener("open", () => {
      attempt = 0;
      setStatus("live");
    });
    es.addEventListener("history", onHistory);
    es.addEventListener("snapshot", onSnapshot);
    es.addEventListener("event", onEvent);
    es.addEventListener("error", () => {
      if (source !== es) return;
      if (body.dataset.status === "live") {
        reconnects += 1;
        body.dataset.reconnects = String(reconnects);
      }
      setStatus("reconnecting");
      if (es.readyState === EventSource.CLOSED) {
        // the browser gave up (the server answered with an error): try again ourselves
        const delay = RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)];
        attempt += 1;
        setTimeout(() => { if (source === es) connect(); }, delay);
      }
    });
  }

  body.dataset.reconnects = "0";
  transitions.push("connecting");
  body.dataset.transitions = "connecting";
  renderPills();
  // the first paint came with the page (/api/v1/history.js): show it now, stream what follows it
  const first = window.ARB_FIRST_PAINT;
  if (first) {
    applyHistory(first);
    lastId = first.cursor;
    body.dataset.lastId = lastId;
    setStatus("live");
  }
  connect();
})();
