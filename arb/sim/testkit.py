"""What a venue's folder tells the test kit (``arb.testing``'s rigs, configuration writers and fault
campaign) of its fakes: ``arb/sim/<venue>/testkit.py`` exports ``TESTKIT``, a :class:`VenueTestKit`, found by
the venue's name with :func:`venue_testkit`, as :func:`arb.sim.fake_exchange` finds its fakes.

A new venue provides, beside its fakes: its real symbols' rules (:attr:`VenueTestKit.rules`), how its
fake names a book's stream and an order's client id (undone, or spelled from arb's), how a rig's keys become
its own when they are not any strings, where its order WebSocket is, its answers the fault campaign checks
(an order refused for its balance, a post-only order refused or cancelled, its cancel requests and how its
request log names them, whether its ban says when it ends), and its writer of constructed scenarios
(``arb/sim/<venue>/scenario.py``). What the configuration knows of it is read from ``config/<venue>.toml``
by :mod:`arb.testing.configs`, not written here.
"""

from __future__ import annotations

__all__ = ["VenueTestKit", "rules_of", "venue_testkit"]

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arb.sim.ledger import SymbolRules


def rules_of(symbol: str, figures: str) -> SymbolRules:
    """``symbol``'s rules (its base and the quote USDT) from its tick size, step size, minimum and maximum
    quantity, minimum notional, minimum and maximum price, in that order, space-separated."""
    tick, step, min_qty, max_qty, min_notional, min_price, max_price = map(Decimal, figures.split())
    return SymbolRules(symbol, symbol.removesuffix("USDT"), "USDT", tick_size=tick, step_size=step,
                       min_qty=min_qty, max_qty=max_qty, min_notional=min_notional, min_price=min_price,
                       max_price=max_price)  # fmt: skip


@dataclass(frozen=True)
class VenueTestKit:
    """One venue's test kit: the facts and hooks of its fakes a rig, a configuration writer or the fault
    campaign needs, so that none of them tests a venue's name. The methods' defaults are what most venues
    do; a venue's ``TESTKIT`` overrides what its fakes do otherwise (a subclass, or the fields)."""

    name: str
    """The venue's name (its folders')."""
    rules: Mapping[tuple[str, str], SymbolRules]
    """The venue's real rules of the symbols the tests trade, by ``(market, symbol)``, in base units."""
    no_balance: tuple[int, int | str, str] = (400, 0, "")
    """Its refusal of an order for lack of balance: HTTP status, code, text."""
    post_only_codes: tuple[str, ...] = ()
    """The codes it refuses a post-only order that would take with (a venue that cancels it instead: none)."""
    post_only_expiry: str | None = None
    """Why it cancels at once a post-only order that would take, as arb journals the quote's code (a venue
    that refuses it instead: None)."""
    cancel_requests: tuple[str, ...] = ()
    """Its cancel requests as its fake logs them: ``"<METHOD> <path>"`` over REST, ``"WS <op>"`` over a socket."""
    ban_ends: bool = False
    """Whether its IP ban says when it ends (a ``Retry-After``): a ban it does not end is longer than a run."""
    order_socket: str = "private_ws_url"
    """The fake's attribute that holds its order WebSocket's URL."""
    socket_logs: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """The fake's logs of socket requests: ``(attribute, the entry's field naming the operation)``."""
    in_campaign: bool = True
    """Whether the fault campaign draws the venue (one ``arb live`` trades): False while the campaign's rigs
    cannot run it end to end yet."""

    def symbol_rules(self, market: str, symbol: str = "BTCUSDT") -> SymbolRules:
        """The venue's rules of ``symbol`` in ``market``; ``KeyError`` naming what it knows."""
        try:
            return self.rules[(market, symbol)]
        except KeyError:
            known = ", ".join(f"{m} {s}" for m, s in self.rules)
            raise KeyError(f"{self.name}: no rules of {market} {symbol} in its test kit (it has {known})") from None

    def book_stream(self, fake: Any, symbol: str) -> str:
        """The stream name ``fake`` counts subscribers of for ``symbol``'s book, as ``arb live`` subscribes it."""
        raise NotImplementedError(f"{self.name}: its test kit names no book stream")

    def ledger_symbol(self, fake: Any, symbol: str) -> str:
        """How ``fake``'s ledger names arb's ``symbol`` (its rules' key)."""
        return symbol

    def arb_client_id(self, client_id: str) -> str:
        """A client id of the fake's ledger as arb's (the venue's spelling of arb's id undone; a venue that
        spells it by a digest, which cannot be undone, returns it as it is: see :meth:`venue_client_id`)."""
        return client_id

    def venue_client_id(self, client_id: str) -> str:
        """arb's ``client_id`` as the fake's ledger names it (the venue's spelling of arb's id): a checker that
        knows arb's ids (its journal's) finds each ledger order's by it, where :meth:`arb_client_id` cannot."""
        return client_id

    def credentials(self, key: str, secret: str, passphrase: str) -> dict[str, str]:
        """A rig's keys as the venue takes them, by the venue file's field (``api_key``, ``api_secret``,
        ``api_passphrase``): the same strings for a venue whose keys are any strings; :meth:`open_account` opens
        an account that they sign for."""
        return {"api_key": key, "api_secret": secret, "api_passphrase": passphrase}

    def rest_request(self, request: Any) -> str:
        """A request of the fake's REST log (:class:`arb.sim.venue.RestRequest`) as ``"<METHOD> <path>"``, as
        :attr:`cancel_requests` names a cancel (a venue whose one path takes every action adds which one)."""
        return f"{request.method} {request.path}"

    def order_socket_url(self, fake: Any) -> str:
        """The fake's order WebSocket."""
        return str(getattr(fake, self.order_socket, None) or fake.private_ws_url)

    def socket_requests(self, fake: Any) -> list[tuple[float, str]]:
        """The requests ``fake`` got over its sockets: ``(time, "WS <op>")`` (logins left out)."""
        found = []
        for log, op in self.socket_logs:
            found += [(entry.time, f"WS {getattr(entry, op)}") for entry in getattr(fake, log, [])]
        return [(t, what) for t, what in found if what != "WS auth"]

    def open_account(self, fake: Any, name: str, *, key: str, secret: str, passphrase: str,
                     balances: Mapping[str, str]) -> Any:  # fmt: skip
        """Add account ``name`` to ``fake`` (its keys; ``passphrase`` where the venue's keys have one)."""
        return fake.add_account(name, api_key=key, api_secret=secret, balances=dict(balances))


def venue_testkit(name: str) -> VenueTestKit:
    """Venue ``name``'s test kit (``arb.sim.<name>.testkit``'s ``TESTKIT``); ``ValueError`` when it has none."""
    try:
        module = importlib.import_module(f"arb.sim.{name}.testkit")
    except ModuleNotFoundError as error:
        raise ValueError(f"no test kit for venue {name!r} (arb/sim/{name}/testkit.py)") from error
    found: VenueTestKit = module.TESTKIT
    return found
