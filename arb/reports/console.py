"""The run summary in the terminal: a rich table, a column per venue and the total, one per symbol
with several, and the warnings a person must not miss (a naked leg, an inconsistent run)."""

from __future__ import annotations

__all__ = ["print_against", "print_summary"]

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from arb.formats import money, num, pct
from arb.reports.common import duration_text, strategy_text
from arb.reports.inventory import inventory_rows, shows_inventory
from arb.reports.pnl import PNL_TOLERANCE
from arb.reports.summary import Summary, SymbolSummary
from arb.results.venues import venue_title, venue_titles

if TYPE_CHECKING:  # arb.reports.against reads journals (SQLAlchemy): imported when a comparison is printed
    from arb.reports.against import Comparison

_amount = partial(money, digits=4)  # money in the quote currency
_base = partial(num, digits=8, small=0)  # a quantity in base units, to the satoshi


def print_summary(summary: Summary, console: Console | None = None) -> None:
    """Print the figures as a rich table: columns Total and one per venue of the run, by its title (pair
    and risk rows: Total only)."""
    console = console if console is not None else Console()
    meta = summary.meta
    title = f"arb {meta.get('mode', 'run')}"
    duration = meta.get("duration_s")
    days = meta.get("days")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        title += f" over {duration_text(float(duration))}"
    elif isinstance(days, int | float) and not isinstance(days, bool):
        title += f" over {days:.3g} days"
    several = bool(summary.symbols)
    if several:
        title += f", {len(summary.symbols)} symbols: the account"
    held = _account_position(meta)
    if held is not None:  # a dry run: the paper account carries what its earlier sessions left
        title += "; this run's figures, the rows marked 'account' the paper account's"
    this_run = ", this run" if held is not None else ""
    account = ", account" if held is not None else ""
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    titles = venue_titles(summary.venue_names)
    for name in ("Total", *titles):
        table.add_column(name, justify="right")
    blank = ("",) * len(titles)

    columns = (summary.total, *summary.venues)

    def row(label: str, attr: str, fmt: Callable[[Any], str], base: bool = False) -> None:
        if base and several:  # base units of different coins do not add up: per symbol below
            return
        table.add_row(label, *(fmt(getattr(f, attr)) for f in columns))

    row("net PnL, equity (quote)", "pnl", _amount)
    row("net PnL, fills (quote)", "pnl_from_fills", _amount)
    funded = any(f.funding != 0.0 for f in columns)
    row("trading PnL, before fees (quote)", "trading_pnl", _amount)  # net PnL = trading PnL - fees + funding
    row("fees (quote)", "fees", _amount)
    if funded:
        row("funding (quote)", "funding", _amount)
    row("fills", "fills", _int)
    row("hedge fills", "hedge_fills", _int)
    row("unwind fills", "unwind_fills", _int)
    row("volume (base)", "volume", _base, base=True)
    row("notional (quote)", "notional", _amount)
    row("mean holding time (s)", "holding_time_s", num)
    row(f"open at end{this_run} (base)", "open_qty", _base, base=True)
    row(f"position{this_run} (base)", "position", _base, base=True)
    if held is not None and not several:
        (account_held,) = held.values()
        table.add_row("position, account (base)", _base(sum(account_held)), *map(_base, account_held))
    row(f"base balance{account} (base)", "base_balance", _base, base=True)
    row(f"quote balance{account} (quote)", "quote_balance", _amount)
    row("final mid (quote)", "final_mid", _amount, base=True)
    row("time out of sync (s)", "out_of_sync_s", num)
    row("out-of-sync spans", "out_of_sync_spans", _int)

    table.add_section()
    pairs, risk = summary.pairs, summary.risk
    for label, value in (
        ("pairs", _int(pairs.pairs)),
        ("legs filled", _int(pairs.legs_filled)),
        ("pairs with equal legs", _int(pairs.pairs_matched)),
        ("pairs hedged or unwound", _int(pairs.pairs_hedged)),
        ("mean captured spread (bps)", num(pairs.spread_bps)),
        ("  net of fees (bps)", num(pairs.spread_net_bps)),
        ("pairs won (PnL > 0)", _int(pairs.pairs_won)),
        ("win rate", pct(pairs.win_rate)),
        ("mean PnL per pair (quote)", _amount(pairs.pair_pnl_mean)),
    ):
        table.add_row(label, value, *blank)
    if len(pairs.directions) > 2:  # more than two venues: what each way between them made
        for d in pairs.directions:
            made = f"{d.pairs} pairs, PnL {_amount(d.pnl)}" if d.pairs else "no pair"
            table.add_row(f"  buy {venue_title(d.buy)}, sell {venue_title(d.sell)}", made, *blank)
    legs = summary.legs
    if legs is not None and legs.any:
        table.add_section()
        for label, value in (
            ("legs faulted: rejected", _int(legs.rejected)),
            ("  partly filled", _int(legs.partial)),
            ("  late", _int(legs.late)),
            ("lone legs", _int(legs.lone_legs)),
            ("  hedged", _int(legs.hedged)),
            ("  unwound", _int(legs.unwound)),
            ("  open at end", _int(legs.open_at_end)),
            ("  past max hedge attempts", _int(legs.given_up)),
            ("hedge and unwind orders", _int(legs.hedge_orders)),
            ("PnL of faulted pairs (quote)", _amount(legs.pnl_faulted)),
            ("PnL of clean pairs (quote)", _amount(legs.pnl_clean)),
            ("mean per faulted / clean pair", f"{_amount(legs.pnl_faulted_mean)} / {_amount(legs.pnl_clean_mean)}"),
            ("leg-risk cost (quote)", _amount(legs.cost)),
        ):
            table.add_row(label, value, *blank)
    maker = summary.maker
    if maker is not None:
        table.add_section()
        for label, value in (
            ("quotes sent", _int(maker.quotes)),
            ("  cancels sent", _int(maker.cancels)),
            ("  filled (maker)", _int(maker.maker_fills)),
            ("  fill rate", pct(maker.fill_rate)),
            ("time in queue, mean / median (ms)", f"{num(maker.queue_ms_mean)} / {num(maker.queue_ms_median)}"),
            ("mid move 1 s after a maker fill (bps)", num(maker.move_after_bps)),
            ("hedge slippage past the touch (bps)", num(maker.hedge_slippage_bps)),
        ):
            table.add_row(label, value, *blank)
        table.add_row("maker fees (quote)", _amount(sum(maker.maker_fees)), *map(_amount, maker.maker_fees))
        table.add_row("taker fees (quote)", _amount(sum(maker.taker_fees)), *map(_amount, maker.taker_fees))
    inventory = summary.inventory
    if shows_inventory(inventory):
        table.add_section()  # what inventory cost the run: the HTML report shows the same rows
        for inventory_row in inventory_rows(inventory, [f.name for f in summary.venues]):
            table.add_row(*inventory_row)
    table.add_section()
    for label, value in (
        ("Sharpe (annualised)", _ratio(risk.sharpe, risk.sharpe_defined, risk.ratios_meaningful)),
        ("Sortino (annualised)", _ratio(risk.sortino, risk.sortino_defined, risk.ratios_meaningful)),
        ("max drawdown (quote)", _amount(risk.max_drawdown)),
        ("max drawdown (of peak)", pct(risk.max_drawdown_frac)),
        ("holdings revaluation (quote)", _amount(risk.holdings_revaluation)),
        ("equity samples", _int(risk.samples)),
    ):
        table.add_row(label, value, *blank)
    ran = strategy_text(meta.get("strategy"))
    if ran:  # what ran, before its figures
        console.print(ran, highlight=False, soft_wrap=True, markup=False)
    console.print(table)
    if several:
        console.print(_symbols_table(summary, held))
    if risk.ratios_note:
        console.print(f"ratios: {risk.ratios_note}")
    naked_legs = [(part.name + " ", part.legs) for part in summary.symbols] if several else [("", legs)]
    for name, own in naked_legs:
        if own is None or not own.open_at_end:
            continue
        naked = ", ".join(f"{name}{summary.venue_names[v]} {x:+.8g}" for v, x in enumerate(own.exposure) if abs(x) > 0)
        console.print(f"[bold red]NAKED LEG at the end: {naked} (base); {own.given_up} pair(s) past max hedge "
                      "attempts[/bold red]")  # fmt: skip
    for part in summary.symbols:
        if not part.pnl_consistent:
            console.print(f"[yellow]{part.name}: net PnL from its equity rows and from its fills disagree by more "
                          f"than {PNL_TOLERANCE} quote[/yellow]")  # fmt: skip
    if not summary.pnl_consistent:
        console.print(
            "[yellow]net PnL from the equity samples and from the fills disagree by more than "
            f"{PNL_TOLERANCE} quote: the run's accounting is inconsistent[/yellow]"
        )


def _account_position(meta: Mapping[str, Any]) -> dict[str, list[float]] | None:
    """A dry run's ``meta.account_position``: the paper account's position per symbol, on each venue, at
    the end, over all its sessions (the account line's ``positions``); None for other runs, whose
    positions are the run's own."""
    held = meta.get("account_position")
    return None if held is None else {str(name): [float(x) for x in own] for name, own in held.items()}


def _symbols_table(summary: Summary, held: dict[str, list[float]] | None = None) -> Table:
    """Every symbol's figures, a column per symbol: money in quote, quantities in each one's base units;
    with ``held`` (a dry run's account positions) the positions of this run and of the account."""
    this_run = ", this run" if held is not None else ""
    table = Table(title="per symbol (quantities in each symbol's base)", title_justify="left")
    table.add_column("figure")
    parts = summary.symbols
    titles = venue_titles(summary.venue_names)
    for part in parts:
        table.add_column(part.name, justify="right")
    rows: list[tuple[str, Callable[[SymbolSummary], str]]] = [
        ("net PnL, equity (quote)", lambda p: _amount(p.total.pnl)),
        ("net PnL, fills (quote)", lambda p: _amount(p.total.pnl_from_fills)),
        ("fees (quote)", lambda p: _amount(p.total.fees)),
        ("fills", lambda p: _int(p.total.fills)),
        ("volume (base)", lambda p: _base(p.total.volume)),
        ("notional (quote)", lambda p: _amount(p.total.notional)),
        ("pairs", lambda p: _int(p.pairs.pairs)),
        ("win rate", lambda p: pct(p.pairs.win_rate)),
        ("mean captured spread (bps)", lambda p: num(p.pairs.spread_bps)),
        ("mean holding time (s)", lambda p: num(p.total.holding_time_s)),
        *((f"position {t}{this_run} (base)", partial(_venue_cell, "position", v, _base)) for v, t in enumerate(titles)),
        *((f"final mid {t} (quote)", partial(_venue_cell, "final_mid", v, _amount)) for v, t in enumerate(titles)),
        ("time out of sync (s)", lambda p: num(p.total.out_of_sync_s)),
    ]
    if held is not None:
        rows += [(f"position {t}, account (base)", partial(_held_cell, held, v)) for v, t in enumerate(titles)]
    for label, cell in rows:
        table.add_row(label, *(cell(part) for part in parts))
    return table


def _venue_cell(attr: str, v: int, fmt: Callable[[Any], str], part: SymbolSummary) -> str:
    # a symbol's figure ``attr`` on venue ``v``
    return fmt(getattr(part.venues[v], attr))


def _held_cell(held: dict[str, list[float]], v: int, part: SymbolSummary) -> str:
    # a dry run's account position of a symbol on venue ``v``
    return _base(held[part.name][v])


def _ratio(x: float | None, defined: bool, meaningful: bool) -> str:
    # the reason is printed under the table (ratios_note)
    if not defined:
        return "n/a"
    return num(x) if meaningful else "not meaningful"


def _int(x: int) -> str:
    return f"{x:,}"


def print_against(comparison: Comparison, console: Console) -> None:
    """``arb report --against``: live beside the backtest, a column each per venue, and the span compared."""
    from arb.reports.against import EXPLAINED, overlap_text, table_of

    header, rows = table_of(comparison)
    table = Table(title="live against the backtest", title_justify="left")
    table.add_column(header[0])
    for name in header[1:]:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(overlap_text(comparison), highlight=False, soft_wrap=True, markup=False)
    for note in (*comparison.notes, EXPLAINED):
        console.print(note, highlight=False, soft_wrap=True, markup=False)
