"""Restoring each asset's split between the venues (``arb rebalance``, ``docs/rebalance.md``).

:func:`plan_moves` is pure: holdings per venue and wallet, each venue's network terms and ``[rebalance]``
in, the moves out. :class:`Rebalancer` reads what the plan needs from every venue of the run through ccxt and, with
``execute``, carries the moves out: each journaled before its request is sent
(:class:`~arb.journal.transfers.TransferJournal`), followed on the sender's withdrawal history and the
receiver's deposit history until credited, then moved into the receiver's trading wallet. Time between two
looks goes through an injected ``pause`` (tests move the fakes' clock there).

A refusal stops the run with :class:`TransferRefusedError` (one line: venue, asset, network, the venue's
code and message); a request whose answer was lost is looked up by its client id before anything is sent
again (:meth:`Rebalancer.resume`).
"""

from __future__ import annotations

__all__ = ["Holdings", "Move", "Rebalancer", "TransferRefusedError", "open_rebalancer", "plan_moves"]

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import Any

from arb.config import AppConfig
from arb.config.rebalance import RebalanceConfig, held_assets
from arb.errors import VenueError
from arb.journal.transfers import TransferJournal, TransferRow, TransferState
from connectors.common.wallet import BLOCK_SECONDS, NetworkTerm, WalletVenue

log = logging.getLogger(__name__)

Holdings = Mapping[str, Mapping[int, Mapping[str, Decimal]]]
"""Per asset, per venue (its number in the run), per wallet: what may leave it now."""


class TransferRefusedError(VenueError):
    """A venue refused a withdrawal or a transfer: nothing moved; a person must fix it (exit 3)."""


@dataclass(frozen=True, slots=True)
class Move:
    """One move of the plan.

    ``kind``: ``withdraw`` (between the venues, on ``network``) or ``transfer`` (between two wallets of
    venue ``sender``: ``receiver`` is the same). ``amount``: what is sent, in ``asset``; ``fee``: the
    network's fee; ``arrival_s``: expected time to arrive (0 for a transfer); ``cost_bps``: fee plus the edge
    lost while waiting, basis points of ``amount``; ``worth``: whether it is made; ``why``: the reason shown.
    """

    kind: str
    asset: str
    sender: int
    receiver: int
    from_wallet: str
    to_wallet: str
    amount: Decimal
    network: str = ""
    fee: Decimal = Decimal(0)
    arrival_s: int = 0
    cost_bps: float = 0.0
    worth: bool = True
    why: str = ""


def _arrival_s(send: NetworkTerm, receive: NetworkTerm) -> int:
    # the venues' own estimate when either gives one (e.g. Binance's), else the receiver's confirmations at the
    # network's pace
    estimates = [t.arrival_s for t in (send, receive) if t.arrival_s is not None]
    if estimates:
        return max(estimates)
    return receive.confirmations * BLOCK_SECONDS.get(receive.network, 60)


def _choose(amount: Decimal, sends: Sequence[NetworkTerm], receives: Sequence[NetworkTerm],
            settings: RebalanceConfig) -> tuple[NetworkTerm, int, float] | str:  # fmt: skip
    # The cheapest network open on both sides for ``amount``: (sender's terms, arrival, cost in bps), or why none.
    by_code = {t.network: t for t in receives if t.deposit_enabled}
    best: tuple[NetworkTerm, int, float] | None = None
    why = "no network open for withdrawal on the sender and deposit on the receiver"
    for send in sends:
        receive = by_code.get(send.network)
        if receive is None or not send.withdraw_enabled:
            continue
        if amount < send.minimum or amount > send.maximum:
            why = f"{amount} is outside {send.network}'s limits {send.minimum}..{send.maximum}"
            continue
        arrival = _arrival_s(send, receive)
        idle = float(amount) * settings.idle_bps_per_hour / 1e4 * arrival / 3600
        cost = (float(send.fee) + idle) / float(amount) * 1e4
        if best is None or cost < best[2]:
            best = (send, arrival, cost)
    return best if best is not None else why


def plan_moves(
    holdings: Holdings,
    terms: Mapping[str, Mapping[int, Sequence[NetworkTerm]]],
    wallets: Sequence[WalletVenue],
    markets: Sequence[str],
    settings: RebalanceConfig,
) -> list[Move]:
    """The moves that restore each asset's target split (``settings.targets``, by ``wallets``' venue
    names, in the run's order), cheapest network first.

    Per asset: money in a wallet that is not the trading one goes there (a ``transfer``) on a venue that
    does not send; a venue more than ``tolerance`` of the total over its target sends to the venue most
    under its own, as much as the smaller of the two gaps, on the network with the least cost (fee plus
    ``idle_bps_per_hour`` over the expected arrival), after a move into its withdrawal wallet if that holds
    too little; and again while a venue is over its target by more than the tolerance and another under.
    A withdrawal costing more than ``max_cost_bps`` of its amount, or with no network open on both sides,
    is listed with ``worth`` False."""
    moves: list[Move] = []
    n = len(wallets)
    for asset, venues in holdings.items():
        totals = [sum(venues.get(v, {}).values(), Decimal(0)) for v in range(n)]
        total = sum(totals, Decimal(0))
        if total <= 0:
            continue
        targets = settings.targets(asset, [wallet.name for wallet in wallets])
        # each venue's target to 1e-8 (a third of 4500 is 1500, not the float share's 1499.99999999999985)
        off = [totals[v] - (total * Decimal(repr(targets[v]))).quantize(_TARGET_STEP) for v in range(n)]
        tolerance = total * Decimal(repr(settings.tolerance))
        pairs = _senders(off, tolerance)
        senders = {sender for sender, _, _ in pairs}
        for v in range(n):
            trading = wallets[v].trading_wallet(markets[v])
            for wallet, held in venues.get(v, {}).items():
                if wallet != trading and held > 0 and v not in senders:
                    moves.append(Move("transfer", asset, v, v, wallet, trading, held, why="into the trading wallet"))
        for sender, receiver, amount in pairs:
            amount = amount.quantize(_AMOUNT_STEP, ROUND_DOWN)
            if amount > 0:
                moves += _withdrawal(asset, (sender, receiver), amount, venues, terms, wallets, markets, settings,
                                     totals)  # fmt: skip
    return moves


_TARGET_STEP = Decimal("1e-8")
_AMOUNT_STEP = Decimal("1e-6")
"""A withdrawal's amount is rounded down to millionths: finer than any move is worth, and no finer than the
venues take a withdrawal of the coins arb holds (USDT's precision is 6 decimals on the venues arb trades)."""


def _senders(off: list[Decimal], tolerance: Decimal) -> list[tuple[int, int, Decimal]]:
    # (sender, receiver, amount) of each withdrawal that brings the venues to their targets: the venue most
    # over its target (by more than the tolerance) sends the one most under its own the smaller of the two
    # gaps, until none is over. With two venues: the one off its target by more than the tolerance, once.
    off = list(off)
    out: list[tuple[int, int, Decimal]] = []
    while True:
        sender = max(range(len(off)), key=lambda v: off[v])
        receiver = min(range(len(off)), key=lambda v: off[v])
        if off[sender] <= tolerance or sender == receiver or off[receiver] >= 0:
            return out
        amount = min(off[sender], -off[receiver])
        out.append((sender, receiver, amount))
        off[sender] -= amount
        off[receiver] += amount


def _withdrawal(
    asset: str,
    legs: tuple[int, int],
    amount: Decimal,
    venues: Mapping[int, Mapping[str, Decimal]],
    terms: Mapping[str, Mapping[int, Sequence[NetworkTerm]]],
    wallets: Sequence[WalletVenue],
    markets: Sequence[str],
    settings: RebalanceConfig,
    totals: Sequence[Decimal],
) -> list[Move]:
    # One withdrawal of ``amount`` from the sender to the receiver (``legs``), with the transfer into the
    # sender's withdrawal wallet it needs first; or the withdrawal listed as not worth making, and why.
    sender, receiver = legs
    chosen = _choose(amount, terms[asset][sender], terms[asset][receiver], settings)
    to_wallet = wallets[receiver].trading_wallet(markets[receiver])
    out = wallets[sender].withdraw_wallet(markets[sender])
    if isinstance(chosen, str):
        return [Move("withdraw", asset, sender, receiver, out, to_wallet, amount, worth=False, why=chosen)]
    send, arrival, cost = chosen
    if not wallets[sender].fee_inside:
        amount = min(amount, totals[sender] - send.fee)  # the fee is paid beside the amount
    worth = cost <= settings.max_cost_bps
    why = f"cost {cost:.1f} bps {'<=' if worth else '>'} max_cost_bps {settings.max_cost_bps:g}"
    short = amount + (Decimal(0) if wallets[sender].fee_inside else send.fee) - venues[sender].get(out, Decimal(0))
    moves = []
    if worth and short > 0:
        trading = wallets[sender].trading_wallet(markets[sender])
        moves.append(Move("transfer", asset, sender, sender, trading, out, short, why="into the withdrawal wallet"))
    moves.append(Move("withdraw", asset, sender, receiver, out, to_wallet, amount, send.network, send.fee,
                      arrival, cost, worth, why))  # fmt: skip
    return moves


def assets_of(config: AppConfig) -> list[str]:
    """The assets arb holds on the venues: the quote and each traded base coin."""
    return held_assets(config.symbol_names)


Pause = Callable[[float], Awaitable[None]]
"""Wait this many seconds (``asyncio.sleep``; a test moves the fakes' clock instead)."""


class Rebalancer:
    """Every venue's ccxt client (``clients[v]``, in the run's venue order), their wallet operations and the journal's
    ``transfers``; reads the plan and carries it out. The caller owns and closes the clients and journal."""

    def __init__(self, config: AppConfig, clients: Sequence[Any], wallets: Sequence[WalletVenue],
                 journal: TransferJournal, pause: Pause) -> None:  # fmt: skip
        self.config = config
        self.settings = config.rebalance
        self.clients = list(clients)
        self.wallets = list(wallets)
        self.markets = [venue.market for venue in config.venues]
        self.names = [venue.name for venue in config.venues]
        self.journal = journal
        self.account = config.live.account
        self._pause = pause
        if not len(self.clients) == len(self.wallets) == len(self.names):
            raise ValueError(f"expected a client and a wallet per venue of the run ({', '.join(self.names)})")
        self._venues = range(len(self.names))

    # -- reading -------------------------------------------------------------------------------------

    async def holdings(self, assets: Sequence[str]) -> dict[str, dict[int, dict[str, Decimal]]]:
        """Each asset's free balance per venue and wallet, as the venues say now."""
        return {a: {v: await self.wallets[v].balances(self.clients[v], self.markets[v], a) for v in self._venues}
                for a in assets}  # fmt: skip

    async def terms(self, assets: Sequence[str]) -> dict[str, dict[int, list[NetworkTerm]]]:
        """Each asset's networks and terms on each venue."""
        found = [await self.wallets[v].networks(self.clients[v], assets) for v in self._venues]
        return {a: {v: found[v][a] for v in self._venues} for a in assets}

    async def plan(self, assets: Sequence[str]) -> tuple[list[Move], dict[str, dict[int, dict[str, Decimal]]]]:
        """The moves that restore the split now, and the holdings they were planned from."""
        holdings = await self.holdings(assets)
        return plan_moves(holdings, await self.terms(assets), self.wallets, self.markets, self.settings), holdings

    # -- carrying out --------------------------------------------------------------------------------

    def in_flight(self) -> list[TransferRow]:
        """The journal's moves still under way (a run that stopped, or crashed, left them)."""
        return self.journal.rows(self.account, in_flight=True)

    async def execute(self, moves: Sequence[Move], report: Callable[[str], None]) -> list[TransferRow]:
        """Carry out each move worth making, in order; ``report`` gets one line per step. Returns the rows."""
        done = []
        for move in moves:
            if not move.worth:
                continue
            if move.kind == "transfer":
                done.append(await self._transfer(self._row(move), report))
                continue
            address = await self._address(move)
            # what ccxt will send: the amount at its precision for the coin, so the journal holds that
            sent = Decimal(str(self.clients[move.sender].currency_to_precision(move.asset, move.amount)))
            row = self._row(replace(move, amount=sent), address)
            report(f"{row.client_id}: withdrawing {row.amount} {move.asset} from {self.names[move.sender]} to "
                   f"{self.names[move.receiver]} on {move.network} (journaled before it is sent)")  # fmt: skip
            done.append(await self._follow(await self._send(row), report))
        return done

    async def resume(self, report: Callable[[str], None]) -> list[TransferRow]:
        """Carry each in-flight row of the journal to its end, sending nothing that may have been sent."""
        out = []
        for row in self.in_flight():
            report(f"{row.client_id}: resuming {row.kind} of {row.amount} {row.asset} ({row.state})")
            if row.kind == "transfer":
                out.append(await self._transfer(row, report, resumed=True))
            else:
                if row.state is TransferState.SENDING:
                    row = await self._unanswered(row, report)
                out.append(await self._follow(row, report))
        return out

    def _row(self, move: Move, address: str = "") -> TransferRow:
        return TransferRow(
            uuid.uuid4().hex, self.account, move.kind, move.asset, self.names[move.sender], self.names[move.receiver],
            move.from_wallet, move.to_wallet, move.network, address, _text(move.amount), _text(move.fee),
            TransferState.SENDING,
        )  # fmt: skip

    def _venue(self, name: str) -> int:
        return self.names.index(name)

    async def _address(self, move: Move) -> str:
        return await self.wallets[move.receiver].deposit_address(self.clients[move.receiver], move.asset, move.network)

    def _refused(self, row: TransferRow, v: int, code: str, message: str) -> TransferRefusedError:
        self.journal.update(row.client_id, state=TransferState.REFUSED, code=code, message=message)
        where = f"{row.asset} on {row.network}" if row.network else f"{row.asset} {row.from_wallet}->{row.to_wallet}"
        return TransferRefusedError(
            f"{self.names[v]} {row.kind} {where}", f"refused {code} {message}",
            "the account's withdrawal settings (allow-list, limits) and the network's status; nothing was sent twice",
            code=code,
        )  # fmt: skip

    async def _send(self, row: TransferRow) -> TransferRow:
        # journal first, then the request; a lost answer stays "sending" and is looked up, never resent blindly
        v = self._venue(row.from_venue)
        row = self.journal.add(row)
        try:
            venue_id = await self.wallets[v].withdraw(self.clients[v], row.asset, Decimal(row.amount), row.address,
                                                      row.network, row.client_id)  # fmt: skip
        except Exception as error:  # noqa: BLE001 - the venue's code decides, not ccxt's class
            said = self.wallets[v].refusal(error)
            if said is None:
                log.warning("%s: the withdrawal's answer was lost (%s); looking it up", row.client_id, error)
                return await self._unanswered(row, log.info)
            if self.wallets[v].already_done(said[0]):
                return await self._unanswered(row, log.info)
            raise self._refused(row, v, *said) from None
        return self.journal.update(row.client_id, state=TransferState.SENT, venue_id=venue_id)

    async def _unanswered(self, row: TransferRow, report: Callable[[str], None]) -> TransferRow:
        # a withdrawal journaled but whose answer was never seen: find it by client id in the sender's history;
        # not there: sent again with the same client id only where the venue refuses a used one (its wallet's
        # resend_is_safe, e.g. Bybit); elsewhere its fate stays unknown (the journal keeps it "sending") until a
        # later look finds it
        v = self._venue(row.from_venue)
        known = frozenset(r.venue_id for r in self.journal.rows(self.account) if r.venue_id)
        found = await self.wallets[v].find_withdrawal(
            self.clients[v], row.asset, row.client_id, venue_id="", address=row.address, amount=Decimal(row.amount),
            since_ms=row.created_ns // 1_000_000 - 60_000, known=known)  # fmt: skip
        if found is not None:
            report(f"{row.client_id}: found on {row.from_venue} as {found.id}: not sent again")
            return self.journal.update(row.client_id, state=TransferState.SENT, venue_id=found.id)
        if not self.wallets[v].resend_is_safe:  # a second request would be a second withdrawal
            raise VenueError(
                f"{row.from_venue} withdraw {row.asset} on {row.network}",
                f"{row.client_id}'s answer was lost and the venue's history does not show it (yet): its fate is "
                "unknown, and it is never sent again",
                f"the venue's withdrawal history; arb rebalance --execute looks for {row.client_id} again",
                retryable=True,
            )
        report(f"{row.client_id}: not in {row.from_venue}'s history: sending it again with the same client id")
        try:
            venue_id = await self.wallets[v].withdraw(self.clients[v], row.asset, Decimal(row.amount), row.address,
                                                      row.network, row.client_id)  # fmt: skip
        except Exception as error:  # noqa: BLE001 - the venue's code decides
            said = self.wallets[v].refusal(error)
            if said is None:
                raise VenueError(
                    f"{row.from_venue} withdraw {row.asset} on {row.network}",
                    f"no answer ({error})",
                    "the network; arb rebalance --execute resumes it",
                    retryable=True,
                ) from None
            if not self.wallets[v].already_done(said[0]):
                raise self._refused(row, v, *said) from None
            raise VenueError(f"{row.from_venue} withdraw {row.asset} on {row.network}",
                             f"{said[0]} {said[1]}: the venue ran {row.client_id} but its history does not show it",
                             "the venue's withdrawal history; the journal keeps it in flight") from None  # fmt: skip
        return self.journal.update(row.client_id, state=TransferState.SENT, venue_id=venue_id)

    async def _follow(self, row: TransferRow, report: Callable[[str], None]) -> TransferRow:
        # sent -> on chain (sender's history) -> credited (receiver's deposits) -> into the trading wallet
        sender, receiver = self._venue(row.from_venue), self._venue(row.to_venue)
        waited_ns, step_ns = 0, self.settings.poll_interval_ns
        while row.state in (TransferState.SENT, TransferState.ON_CHAIN):
            if row.state is TransferState.SENT:
                found = await self.wallets[sender].find_withdrawal(
                    self.clients[sender], row.asset, row.client_id, venue_id=row.venue_id, address=row.address,
                    amount=Decimal(row.amount), since_ms=0, known=frozenset())  # fmt: skip
                if found is not None and found.status == "ok" and found.txid:
                    row = self.journal.update(row.client_id, state=TransferState.ON_CHAIN, txid=found.txid)
                    report(f"{row.client_id}: on chain, txid {found.txid}")
                    continue
                if found is not None and found.status in ("failed", "canceled"):
                    report(f"{row.client_id}: {row.from_venue} failed the withdrawal (refunded)")
                    return self.journal.update(row.client_id, state=TransferState.FAILED, message=found.status)
            else:
                deposit = await self.wallets[receiver].find_deposit(self.clients[receiver], row.asset, row.txid)
                if deposit is not None and deposit.status == "ok":
                    row = self.journal.update(row.client_id, state=TransferState.CREDITED, credited=str(deposit.amount))
                    report(f"{row.client_id}: credited {deposit.amount} {row.asset} on {row.to_venue}")
                    break
            if waited_ns >= self.settings.arrival_timeout_ns:
                report(f"{row.client_id}: still {row.state} after {waited_ns / 1e9:g} s: left in flight; "
                       "arb rebalance --execute resumes it")  # fmt: skip
                return row
            await self._pause(step_ns / 1e9)
            waited_ns += step_ns
        if row.state is TransferState.CREDITED:
            deposit_wallet = self.wallets[receiver].deposit_wallet(self.markets[receiver])
            if deposit_wallet != row.to_wallet:
                await self._move(row, receiver, deposit_wallet, row.to_wallet, Decimal(row.credited))
                report(f"{row.client_id}: {row.credited} {row.asset} moved {deposit_wallet} -> {row.to_wallet}")
            row = self.journal.update(row.client_id, state=TransferState.DONE)
        return row

    async def _move(self, row: TransferRow, v: int, source: str, target: str, amount: Decimal) -> None:
        try:
            await self.wallets[v].transfer(self.clients[v], row.asset, amount, source, target, row.client_id)
        except Exception as error:  # noqa: BLE001 - the venue's code decides
            said = self.wallets[v].refusal(error)
            if said is None or not self.wallets[v].already_done(said[0]):
                if said is None:
                    raise VenueError(f"{self.names[v]} transfer {row.asset}", f"no answer ({error})",
                                     "the wallets on the venue; arb rebalance --execute resumes it",
                                     retryable=True) from None  # fmt: skip
                raise self._refused(replace(row, network=""), v, *said) from None

    async def _transfer(self, row: TransferRow, report: Callable[[str], None], resumed: bool = False) -> TransferRow:
        v = self._venue(row.from_venue)
        if resumed and not self.wallets[v].resend_is_safe:
            raise VenueError(f"{row.from_venue} transfer {row.asset}", f"{row.client_id} has no answer in the journal",
                             f"the venue's transfer history, then mark it done: {row.from_wallet} -> {row.to_wallet} "
                             f"{row.amount}")  # fmt: skip
        if not resumed:
            row = self.journal.add(row)
        await self._move(row, v, row.from_wallet, row.to_wallet, Decimal(row.amount))
        report(
            f"{row.client_id}: {row.amount} {row.asset} moved {row.from_wallet} -> {row.to_wallet} on {row.from_venue}"
        )
        return self.journal.update(row.client_id, state=TransferState.DONE)


def _text(amount: Decimal) -> str:
    # the decimal as plain text without trailing zeros ("1000", not "1E+3" or "1000.0")
    return f"{amount.normalize():f}"


def make_pause() -> Pause:
    """The production pause: ``asyncio.sleep``."""
    import asyncio

    return asyncio.sleep


@contextlib.asynccontextmanager
async def open_rebalancer(config: AppConfig, pause: Pause | None = None) -> AsyncIterator[Rebalancer]:
    """Every venue's ccxt client of its own (markets loaded) and the journal's ``transfers``, as a
    :class:`Rebalancer`; all closed on the way out."""
    import asyncio

    from arb.execution.ccxt_setup import make_exchange
    from connectors.registry import venue as connector

    live = config.live
    journal = TransferJournal.open(live.journal_url or live.state_dir / f"{live.account}.sqlite")
    clients: list[Any] = []
    try:
        for venue in config.venues:
            assert venue.api_key is not None and venue.api_secret is not None  # require_credentials ran
            password = venue.api_passphrase.resolve() if venue.api_passphrase is not None else None
            clients.append(make_exchange(venue.name, venue.market, rest=venue.endpoints.rest,
                                         api_key=venue.api_key.resolve(), api_secret=venue.api_secret.resolve(),
                                         api_password=password, network=venue.network,
                                         timeout_ms=live.request_timeout_ns // 1_000_000))  # fmt: skip
        await asyncio.gather(*(c.load_markets() for c in clients))
        wallets = [connector(venue.name).wallet for venue in config.venues]
        yield Rebalancer(config, clients, wallets, journal, pause or make_pause())
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        journal.close()
