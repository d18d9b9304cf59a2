"""The instruments the fake private OKX trades: OKX's rules as it publishes them, the ``instIdCode`` its
WebSocket orders name them by, and the ledger's rules in base units.

OKX states a swap's sizes in contracts (``sz``, ``lotSz``, ``minSz``, book sizes, ``pos``, ``fillSz``); one contract
is ``ctVal x ctMult`` of the base currency (BTC-USDT-SWAP: 0.01 BTC). The ledger counts base units, so the
conversion happens here and nowhere else: :meth:`OkxInstrument.base` and :meth:`OkxInstrument.size`. A spot
instrument's sizes are in the base currency already (its contract is 1).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_INST_ID_CODES",
    "FAKE_CODES_FROM",
    "OkxInstrument",
    "fields_of_rules",
    "inst_id_of",
    "instruments_of",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from arb.sim.ledger import SymbolRules
from arb.sim.okx.calls import text
from arb.sim.okx.wire import DEFAULT_INSTRUMENTS, instrument_entry

DEFAULT_INST_ID_CODES: Mapping[str, int] = {"BTC-USDT-SWAP": 10459}
"""The ``instIdCode`` of the instruments whose code has been seen (nautilus_trader's instruments test data)."""
FAKE_CODES_FROM = 900_001
"""Other instruments are numbered from here, in instrument-id order: the fake's own codes, not OKX's."""
_MAX_SIZE = {"SPOT": "9000", "SWAP": "900000"}
"""``maxLmtSz`` and ``maxMktSz`` unless given: the fake's own bounds (OKX's vary by instrument)."""
_QUOTES = ("USDT", "USDC", "USD", "EUR", "BTC", "ETH")
"""Quote currencies an arb symbol may end in (the longest that fits is the quote)."""


def inst_id_of(symbol: str, market: str) -> str:
    """The instrument id of arb's ``symbol`` in ``market``, as a client names it: ``("BTCUSDT", "spot")`` ->
    ``"BTC-USDT"``, ``("BTCUSDT", "linear")`` -> ``"BTC-USDT-SWAP"``; an id is kept as it is. ``ValueError``
    when the symbol ends in no known quote currency."""
    if "-" in symbol:
        return symbol
    name = symbol.upper()
    quote = next((q for q in sorted(_QUOTES, key=len, reverse=True) if name.endswith(q) and len(name) > len(q)), None)
    if quote is None:
        raise ValueError(f"cannot tell the quote currency of {symbol!r} (expected one of {', '.join(_QUOTES)})")
    return f"{name[: -len(quote)]}-{quote}" + ("-SWAP" if market == "linear" else "")


@dataclass(frozen=True, slots=True)
class OkxInstrument:
    """One instrument: OKX's published ``fields`` (strings, as served), its ``code`` (``instIdCode``), its
    ``rules`` in base units for the ledger, and its maximum leverage (swaps)."""

    inst_id: str
    fields: Mapping[str, str]
    code: int
    rules: SymbolRules
    max_leverage: int

    @property
    def swap(self) -> bool:
        return self.inst_id.endswith("-SWAP")

    @property
    def inst_type(self) -> str:
        """``SPOT`` or ``SWAP``."""
        return "SWAP" if self.swap else "SPOT"

    @property
    def family(self) -> str:
        """``instFamily`` (``uly``) of a swap, ``BTC-USDT``; the instrument id of a spot pair."""
        return self.inst_id.removesuffix("-SWAP")

    @property
    def contract(self) -> Decimal:
        """Base units per size unit: ``ctVal x ctMult`` for a swap, 1 for spot."""
        if not self.swap:
            return Decimal(1)
        return Decimal(self.fields["ctVal"]) * Decimal(self.fields.get("ctMult") or "1")

    def base(self, size: Decimal) -> Decimal:
        """A wire size (contracts for a swap) in base units."""
        return size * self.contract

    def size(self, base: Decimal) -> Decimal:
        """Base units as a wire size (contracts for a swap)."""
        return base / self.contract

    def size_text(self, base: Decimal) -> str:
        """Base units as the wire writes a size."""
        return text(self.size(base))

    def entry(self) -> dict[str, Any]:
        """The instrument as ``GET /api/v5/public/instruments`` lists it: the public fake's entry with
        ``instIdCode``, ``maxLmtSz``, ``maxMktSz``, ``lever`` and the swap's ``settleCcy``."""
        out = instrument_entry(self.inst_id, self.fields)
        out.update({
            "instIdCode": self.code,
            "maxLmtSz": self.fields["maxLmtSz"],
            "maxMktSz": self.fields["maxMktSz"],
            "lever": str(self.max_leverage) if self.swap else "",
            "category": "1",
            "listTime": "1606468572000",
            "expTime": "",
            "alias": "",
            "optType": "",
            "stk": "",
        })  # fmt: skip
        return out


def _rules(inst_id: str, fields: Mapping[str, str], contract: Decimal) -> SymbolRules:
    # OKX's rules in base units: a lot of ``lotSz`` contracts is ``lotSz x contract`` base
    base, quote = inst_id.split("-")[:2]
    tick = Decimal(fields["tickSz"])
    return SymbolRules(
        symbol=inst_id,
        base=base,
        quote=quote,
        tick_size=tick,
        step_size=Decimal(fields["lotSz"]) * contract,
        min_qty=Decimal(fields["minSz"]) * contract,
        max_qty=Decimal(fields["maxLmtSz"]) * contract,
        min_price=tick,
    )


def instruments_of(
    spec: Sequence[str] | Mapping[str, Mapping[str, str]], *, max_leverage: int
) -> dict[str, OkxInstrument]:
    """The instruments ``spec`` names: instrument ids (each with :data:`~arb.sim.okx.wire.DEFAULT_INSTRUMENTS`
    of its type), or ids with the fields that differ (``tickSz``, ``lotSz``, ``minSz``, ``ctVal``, ``ctMult``,
    ``maxLmtSz``, ``maxMktSz``, ``instIdCode``). ``ValueError`` for an id that is neither ``BASE-QUOTE`` nor
    ``BASE-QUOTE-SWAP``."""
    overrides: dict[str, Mapping[str, str]] = dict(spec) if isinstance(spec, Mapping) else {i: {} for i in spec}
    out: dict[str, OkxInstrument] = {}
    fake_code = FAKE_CODES_FROM
    for inst_id in sorted(overrides):
        parts = inst_id.split("-")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "SWAP") or not all(parts):
            raise ValueError(f"not an OKX spot or USDT swap instrument id: {inst_id!r}")
        kind = "SWAP" if len(parts) == 3 else "SPOT"
        fields = {**DEFAULT_INSTRUMENTS[kind], "maxLmtSz": _MAX_SIZE[kind], "maxMktSz": _MAX_SIZE[kind],
                  **overrides[inst_id]}  # fmt: skip
        code_text = fields.pop("instIdCode", None)
        if code_text is not None:
            code = int(code_text)
        elif inst_id in DEFAULT_INST_ID_CODES:
            code = DEFAULT_INST_ID_CODES[inst_id]
        else:
            code, fake_code = fake_code, fake_code + 1
        contract = Decimal(fields["ctVal"]) * Decimal(fields.get("ctMult") or "1") if kind == "SWAP" else Decimal(1)
        out[inst_id] = OkxInstrument(inst_id, fields, code, _rules(inst_id, fields, contract), max_leverage)
    return out


def fields_of_rules(
    rules: Sequence[SymbolRules], *, swap: bool, given: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """The instruments (ids with OKX's fields) of ``rules`` stated in base units as the other fakes take them:
    a symbol that is no OKX id (``BTCUSDT``) becomes ``BASE-QUOTE`` (``-SWAP`` when ``swap``) from its ``base``
    and ``quote``; ``tickSz`` is the tick, ``lotSz``, ``minSz`` and ``maxLmtSz``/``maxMktSz`` the step, minimum
    and maximum quantity in contracts of ``ctVal x ctMult`` (``given``'s for that id, else
    :data:`~arb.sim.okx.wire.DEFAULT_INSTRUMENTS`'). ``given``'s other fields are kept; OKX has no minimum
    order value, so ``min_notional`` is not carried."""
    out: dict[str, dict[str, str]] = {}
    for rule in rules:
        inst_id = rule.symbol if "-" in rule.symbol else f"{rule.base}-{rule.quote}" + ("-SWAP" if swap else "")
        fields = {**DEFAULT_INSTRUMENTS["SWAP" if swap else "SPOT"], **((given or {}).get(inst_id) or {})}
        contract = Decimal(fields["ctVal"]) * Decimal(fields.get("ctMult") or "1") if swap else Decimal(1)
        sizes = {"lotSz": rule.step_size, "minSz": rule.min_qty, "maxLmtSz": rule.max_qty}
        out[inst_id] = {**fields, "tickSz": text(rule.tick_size),
                        **{k: text(v / contract) for k, v in sizes.items()},
                        "maxMktSz": text(rule.max_qty / contract)}  # fmt: skip
    return out
