"""Every hint arb prints after a venue refuses its credentials names every variable the venue's file
references for them: the key, the secret and, where the venue's keys have one, the passphrase (OKX's
50105 is about the passphrase alone: a hint naming only the key and the secret sent people to the wrong
variable). Walked over every venue with a private side and every credential code its answer rules list."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from arb.config import load_config
from arb.execution.outcome import CAUSE_CREDENTIALS, classify
from arb.execution.venue_errors import venue_error
from arb.live.trading_session import venue_setup
from arb.testing.configs import write_config_files
from connectors.registry import venue, venue_names

PRIVATE = [name for name in venue_names() if venue(name).trades_live]
"""The venues arb trades live (a venue without a private side has no credentials to refuse)."""

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _refusals() -> list[tuple[str, str]]:
    return [(name, code) for name in PRIVATE for code in sorted(venue(name).private("spot").answers.credential_codes)]


def _referenced(file: Path) -> set[str]:
    # The environment variables the venue file's credentials reference, as the file spells them
    table = tomllib.loads(file.read_text())
    return {m for key in ("api_key", "api_secret", "api_passphrase") if key in table
            for m in _VARIABLE.findall(str(table[key]))}  # fmt: skip


@pytest.mark.parametrize(("name", "code"), _refusals(), ids=lambda v: str(v))
def test_every_credential_refusal_names_every_variable_the_venue_file_references(
    name: str, code: str, tmp_path: Path
) -> None:
    others = [v for v in PRIVATE if v != name][:1]
    config = load_config(write_config_files(tmp_path, arbitrage_overrides={"strategy": {"venues": [*others, name]}}))
    (setup_of,) = [v for v in config.venues if v.name == name]
    rules = venue(name).private("spot").answers
    code_value: int | str = int(code) if rules.ok_code == "" else code  # Binance's codes are numbers
    body = json.dumps({rules.code_field: code_value, rules.message_field: "refused"})
    answer = classify(rules, written=True, http_status=400, body=body)
    assert answer.cause == CAUSE_CREDENTIALS, (name, code)
    error = venue_error(f"{name} spot", answer, venue_setup(setup_of), request="GET /a/signed/request")
    referenced = _referenced(setup_of.path)
    named = set(re.findall(r"\b[A-Z][A-Z0-9]*_API_[A-Z0-9_]+\b", error.check))
    assert referenced and named == referenced, error.check
    assert error.exit_code == 3 and not error.retryable


def test_okx_wrong_passphrase_hint_names_the_passphrase(tmp_path: Path) -> None:
    # The case as OKX answers it: 50105 Request header "OK-ACCESS-PASSPHRASE" incorrect
    config = load_config(write_config_files(tmp_path, arbitrage_overrides={"strategy": {"venues": ["binance", "okx"]}}))
    body = '{"code":"50105","msg":"Request header \\"OK-ACCESS-PASSPHRASE\\" incorrect.","data":[]}'
    answer = classify("okx", written=True, http_status=401, body=body)
    error = venue_error("okx spot", answer, venue_setup(config.venues[1]), request="GET /api/v5/trade/fills")
    assert "check the environment variables OKX_API_KEY, OKX_API_SECRET and OKX_API_PASSPHRASE (the key" in str(error)
    assert "its secret and its passphrase" in error.check
