"""Typed, frozen, validated configuration: ``arbitrage.toml`` plus one file per venue.

``load_config()`` reads ``arbitrage.toml`` ([strategy], [risk], [execution], [backtest], [dry_run],
[venues]) and the venue file of each venue of the run (``config/<venue>.toml``), and returns one frozen
:class:`AppConfig`. Every mistake raises :class:`arb.errors.ConfigError` naming the file, the dotted key
and what was expected; unknown keys are rejected with the closest allowed key as a suggestion.

Units. Times in TOML carry their unit in the key (``order_timeout_ms``, ``report_interval_s``) and
become int64 nanoseconds in the objects, under the same name with an ``_ns`` suffix
(``order_timeout_ns``). Spreads and tolerances stay in basis points (float), fees are fractions
(``0.001`` = 10 bps), sizes are in base-asset units, money in quote-asset units. Paths are resolved
relative to the folder of the file that names them.

How validation works. Each section is a frozen ``msgspec.Struct`` that rejects unknown keys; a field's
type carries its rules (``Annotated[float, Meta(ge=0)]``, ``Literal["ioc", "limit"]``), which msgspec
checks when it decodes a file, and the same rules run again whenever an object is built in code,
changed with ``msgspec.structs.replace`` or with :meth:`AppConfig.with_overrides`. Checks that involve
more than one field live in the class that owns the fields. The modules:

- :mod:`arb.config.fields`: how a field is declared, described (``expected a number >= 0``) and checked;
- :mod:`arb.config.sections`: the sections of ``arbitrage.toml``;
- :mod:`arb.config.venue`: a venue file; :mod:`arb.catalog`: the venues arb knows, from their folders;
- :mod:`arb.config.app`: :class:`AppConfig` and what it computes (each symbol resolved, overrides);
- :mod:`arb.config.load`: reading the files; :mod:`arb.config.messages`: what a mistake is called;
- :mod:`arb.config.secrets`: :class:`Secret` and the credentials a command needs.

Secrets. ``api_key`` / ``api_secret`` become :class:`Secret` objects, normally a reference
``"${VENUE_API_KEY}"`` to an environment variable that is read only by :meth:`Secret.resolve`, so a
backtest loads without keys. No ``repr``, ``str`` or :meth:`AppConfig.to_dict` shows a secret value.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNT_FEES_FILE",
    "DEFAULT_CONFIG_PATH",
    "MARKETS",
    "SYMBOL_INSTRUMENT_KEYS",
    "SYMBOL_RISK_KEYS",
    "SYMBOL_SIZE_KEYS",
    "SYMBOL_STRATEGY_KEYS",
    "Account",
    "AlertsConfig",
    "AppConfig",
    "BacktestConfig",
    "DryRunConfig",
    "EmailChannel",
    "Endpoints",
    "ExecutionConfig",
    "FeedConfig",
    "Fees",
    "HistoryConfig",
    "Instrument",
    "Latency",
    "LegFaultRates",
    "LegFaultsConfig",
    "LiveConfig",
    "MissingSecretsError",
    "OpsConfig",
    "PerpetualConfig",
    "RiskConfig",
    "Secret",
    "StrategyConfig",
    "SymbolConfig",
    "SymbolOverrides",
    "TelegramChannel",
    "UnsetVariableError",
    "VenueConfig",
    "WebhookChannel",
    "as_written",
    "config_option",
    "load_config",
    "load_venue_config",
    "quote_currency",
    "require_credentials",
]

from arb.config.app import (
    SYMBOL_INSTRUMENT_KEYS,
    SYMBOL_RISK_KEYS,
    SYMBOL_SIZE_KEYS,
    SYMBOL_STRATEGY_KEYS,
    AppConfig,
    SymbolConfig,
    SymbolOverrides,
)
from arb.config.load import DEFAULT_CONFIG_PATH, as_written, config_option, load_config, load_venue_config
from arb.config.secrets import MissingSecretsError, Secret, UnsetVariableError, require_credentials
from arb.config.sections import (
    AlertsConfig,
    BacktestConfig,
    DryRunConfig,
    EmailChannel,
    ExecutionConfig,
    HistoryConfig,
    LegFaultRates,
    LegFaultsConfig,
    LiveConfig,
    OpsConfig,
    RiskConfig,
    StrategyConfig,
    TelegramChannel,
    WebhookChannel,
    quote_currency,
)
from arb.config.venue import (
    ACCOUNT_FEES_FILE,
    MARKETS,
    Account,
    Endpoints,
    FeedConfig,
    Fees,
    Instrument,
    Latency,
    PerpetualConfig,
    VenueConfig,
)
