"""OKX's trading rules from ``GET /api/v5/public/instruments``, in the units arb's configuration uses.

arb compares each venue's rules with the venue file's ``[instrument]`` (``tick_size``, ``lot_size``,
``min_qty``, ``min_notional``, ``contract_size``) before trading: a venue executor states them as
``symbol -> rule -> (value, unit)`` with units ``price``, ``base`` and ``quote``. OKX writes a swap's
``lotSz`` and ``minSz`` in contracts; here they are base currency, ``contracts x ctVal x ctMult``, and
``contract_size`` is that contract value. OKX states no minimum order value: ``min_notional`` is 0.

``INSTRUMENTS`` (an :class:`~connectors.common.instruments.InstrumentList`) is the same answer as the list of
what OKX lists in a market, for ``arb scan``: ``instType=SPOT`` is arb's ``spot``, ``instType=SWAP`` its
``linear`` (the USDT- and USDC-settled swaps; the inverse ones, ``ctType`` ``inverse``, are left out), every
instrument in one answer (no paging). A swap's price is per one base currency (``PEPE-USDT-SWAP`` quotes one
PEPE) and its sizes are contracts: the instrument's ``multiplier`` is 1 and its ``contract_size`` the contract
value.
"""

from __future__ import annotations

__all__ = ["INSTRUMENTS", "OkxInstrumentList", "OkxRules", "parse_rules", "rules_of", "rules_table"]

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import msgspec

from connectors.common.instruments import Instrument, InstrumentPage, InstrumentRequest, asset_of, instrument_page
from connectors.okx.messages import OkxInstrument, OkxInstruments
from connectors.okx.urls import INST_TYPE, INSTRUMENTS_PATH, symbol_of

_instruments = msgspec.json.Decoder(OkxInstruments, strict=False)


@dataclass(frozen=True, slots=True)
class OkxRules:
    """One instrument's rules, in arb's units (decimal strings kept exact as :class:`~decimal.Decimal`)."""

    symbol: str
    """arb's symbol (``BTCUSDT``)."""
    inst_id: str
    """OKX's instrument id (``BTC-USDT-SWAP``)."""
    market: str
    """``spot`` or ``linear``."""
    tick_size: Decimal
    """Price increment, quote currency."""
    lot_size: Decimal
    """Quantity increment, base currency."""
    min_qty: Decimal
    """Smallest order, base currency."""
    contract_size: Decimal
    """Base currency per contract (1 on spot)."""
    live: bool
    """``state`` is ``live`` (not suspended, pre-open or a test instrument)."""

    def as_venue_rules(self) -> dict[str, tuple[str, str]]:
        """The rules as a venue executor states them: ``{"tick_size": ("0.1", "price"), ...}``."""
        return {
            "tick_size": (_text(self.tick_size), "price"),
            "lot_size": (_text(self.lot_size), "base"),
            "min_qty": (_text(self.min_qty), "base"),
            "min_notional": ("0", "quote"),
        }


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _decimal(entry: OkxInstrument, name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"okx {entry.inst_id}: {name} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"okx {entry.inst_id}: {name} {text!r} is not positive")
    return value


def rules_of(entry: OkxInstrument) -> OkxRules:
    """One instruments entry as :class:`OkxRules`; ``ValueError`` for a swap without a usable ``ctVal``
    or an instrument type other than ``SPOT``/``SWAP``."""
    if entry.inst_type == "SPOT":
        size, market = Decimal(1), "spot"
    elif entry.inst_type == "SWAP":
        mult = _decimal(entry, "ctMult", entry.ct_mult) if entry.ct_mult else Decimal(1)
        size, market = _decimal(entry, "ctVal", entry.ct_val) * mult, "linear"
    else:
        raise ValueError(f"okx {entry.inst_id}: instType {entry.inst_type!r} is neither SPOT nor SWAP")
    return OkxRules(
        symbol=symbol_of(entry.inst_id),
        inst_id=entry.inst_id,
        market=market,
        tick_size=_decimal(entry, "tickSz", entry.tick_sz),
        lot_size=_decimal(entry, "lotSz", entry.lot_sz) * size,
        min_qty=_decimal(entry, "minSz", entry.min_sz) * size,
        contract_size=size,
        live=entry.state == "live",
    )


def parse_rules(body: bytes) -> dict[str, OkxRules]:
    """``GET /api/v5/public/instruments?instType=SPOT|SWAP``'s answer as arb symbol -> rules, e.g. from
    ``{"code":"0","msg":"","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","ctVal":"0.01","ctMult":"1",
    "lotSz":"0.01","minSz":"0.01","tickSz":"0.1","state":"live",...}]}`` ``BTCUSDT`` with lot and minimum
    0.0001 BTC. Only USDT-settled swaps and spot pairs map to arb symbols: inverse swaps are left out.
    ``ValueError`` for an error answer (``code`` other than ``"0"``) or a malformed entry."""
    answer = _instruments.decode(body)
    if str(answer.code) != "0":
        raise ValueError(f"okx instruments: code {answer.code}: {answer.msg}")
    out: dict[str, OkxRules] = {}
    for entry in answer.data:
        if entry.inst_type == "SWAP" and entry.ct_type != "linear":
            continue
        rules = rules_of(entry)
        out[rules.symbol] = rules
    return out


def rules_table(body: bytes, symbols: list[str]) -> dict[str, dict[str, tuple[str, str]]]:
    """The rules of ``symbols`` (arb's) from an instruments answer, as a venue executor's ``start()``
    returns them (``symbol -> rule -> (value, unit)``); a symbol the answer does not list is absent."""
    rules = parse_rules(body)
    return {s: rules[s].as_venue_rules() for s in symbols if s in rules}


def _listed(entry: OkxInstrument) -> Instrument:
    # One entry as an arb instrument (rules_of's numbers); ValueError as rules_of's.
    rules = rules_of(entry)
    parts = entry.inst_id.split("-")
    if len(parts) < 2 or not all(parts[:2]):
        raise ValueError(f"okx {entry.inst_id}: not a BASE-QUOTE instrument id")
    spot = entry.inst_type == "SPOT"  # a swap's baseCcy and quoteCcy are "": its id names them
    base = entry.base_ccy if spot and entry.base_ccy else parts[0]
    quote = entry.quote_ccy if spot and entry.quote_ccy else parts[1]
    asset, multiplier = asset_of(base)
    return Instrument(
        venue="okx",
        market=rules.market,
        symbol=rules.symbol,
        name=entry.inst_id,
        base=asset,
        quote=quote.upper(),
        multiplier=multiplier,
        tick=rules.tick_size,
        lot=rules.lot_size,
        min_qty=rules.min_qty,
        min_notional=Decimal(0),
        trading=rules.live,
        status=entry.state,
        contract_size=rules.contract_size,
    )


@dataclass(frozen=True, slots=True)
class OkxInstrumentList:
    """OKX's instrument lists (see the module docstring)."""

    venue: str = "okx"

    def request(self, market: str, cursor: str = "") -> InstrumentRequest:
        """``GET /api/v5/public/instruments?instType=SPOT`` (spot) or ``SWAP`` (linear); 20 requests per 2 s.
        Every instrument at once, so ``cursor`` is never other than ``""``."""
        if market not in INST_TYPE:
            raise ValueError(f"okx: market must be spot or linear, got {market!r}")
        return InstrumentRequest(INSTRUMENTS_PATH, {"instType": INST_TYPE[market]})

    def parse(self, body: bytes, market: str) -> InstrumentPage:
        """The instruments answer (:class:`~connectors.okx.messages.OkxInstruments`) as instruments of
        ``market``: lot and minimum in base currency (contracts x contract value), ``contract_size`` the
        contract value. ``ValueError`` for an error answer (``code`` other than ``"0"``)."""
        try:
            answer = _instruments.decode(body)
        except msgspec.DecodeError as exc:
            raise ValueError(f"okx {market} instruments: not its answer ({exc})") from None
        if str(answer.code) != "0":
            raise ValueError(f"okx {market} instruments: code {answer.code}: {answer.msg}")
        wanted = INST_TYPE.get(market)
        # not another type, nor an inverse swap
        listed = (
            e for e in answer.data if e.inst_type == wanted and not (e.inst_type == "SWAP" and e.ct_type != "linear")
        )
        return instrument_page(listed, _listed)


INSTRUMENTS = OkxInstrumentList()
"""OKX's instrument lists."""
