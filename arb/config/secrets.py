"""API credentials: :class:`Secret` (a reference to an environment variable, never shown) and the check
that a command has every credential it needs (:func:`require_credentials`)."""

from __future__ import annotations

__all__ = ["ENV_REF", "MissingSecretsError", "Secret", "UnsetVariableError", "require_credentials"]

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final, NoReturn, Protocol

from arb.catalog import venue_facts
from arb.errors import ArbError, ConfigError

ENV_REF: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""A secret's reference to an environment variable: ``${NAME}``."""


class Secret:
    """An API credential: a reference ``"${NAME}"`` to an environment variable, or a literal.

    The value is read only by :meth:`resolve`, at call time, so a configuration loads even when the
    variable is unset (backtests need no keys). ``repr()`` and ``str()`` show ``Secret(${NAME})`` or
    ``Secret(***)``, never the value. Instead of ``NAME`` itself, ``NAME_FILE`` may name a file holding
    the value (a container's ``/run/secrets/...``, systemd's credentials directory): the value then never
    sits in the process's environment. Every value read is remembered by :mod:`arb.logs`, which keeps it
    out of every log line.

    A plain object on purpose, not a Struct or a dataclass: no generic copy (``dataclasses.asdict``,
    ``msgspec.to_builtins``) can take a literal value out of it; copies rebuild it, its repr redacted.
    """

    __slots__ = ("_literal", "env_name", "file", "key")

    env_name: str | None
    """Name of the environment variable holding the value; ``None`` for a literal."""
    file: str
    """The file that defined the secret (for error messages)."""
    key: str
    """The key that defined the secret, e.g. ``api_key``."""
    _literal: str | None

    def __init__(
        self,
        *,
        env_name: str | None = None,
        literal: str | None = None,
        file: str = "<python>",
        key: str = "secret",
    ) -> None:
        if (env_name is None) == (literal is None):
            raise ValueError("Secret needs exactly one of env_name and literal")
        if env_name is not None and not ENV_REF.fullmatch("${" + env_name + "}"):
            raise ValueError(f"not an environment variable name: {env_name!r}")
        object.__setattr__(self, "env_name", env_name)
        object.__setattr__(self, "_literal", literal)
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "key", key)

    @classmethod
    def parse(cls, text: str, *, file: str = "<python>", key: str = "secret") -> Secret:
        """Build a secret from its TOML spelling: ``"${NAME}"`` or a literal string.

        Raises ``ValueError`` for an empty string and for a malformed ``${...}`` reference.
        """
        match = ENV_REF.fullmatch(text)
        if match:
            return cls(env_name=match.group(1), file=file, key=key)
        if not text:
            raise ValueError("it is empty; leave the key out when there is no credential")
        if "${" in text:  # the example names the file and the key: <venue>.toml's api_key -> <VENUE>_API_KEY
            stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(file).stem).strip("_").upper() or "VENUE"
            example = f"{stem}_{re.sub(r'[^A-Za-z0-9]+', '_', key).upper()}"
            raise ValueError(f'a malformed reference; spell it like "${{{example}}}"')
        return cls(literal=text, file=file, key=key)

    @property
    def is_literal(self) -> bool:
        """True when the value was written into the file rather than referenced from the environment."""
        return self._literal is not None

    def is_set(self) -> bool:
        """True when :meth:`resolve` would find a value (a literal, or ``NAME`` or ``NAME_FILE`` set now)."""
        name = self.env_name or ""
        return self._literal is not None or bool(os.environ.get(name)) or bool(os.environ.get(name + "_FILE"))

    def resolve(self) -> str:
        """Return the secret value, reading ``os.environ`` now for an environment reference: ``NAME``, or
        the file ``NAME_FILE`` names (its text without the surrounding whitespace).

        Raises :class:`UnsetVariableError` (a ``ConfigError(file, key, "expected environment variable
        NAME to be set ...")``) when neither is set (or ``NAME`` is empty), and a ``ConfigError`` naming
        ``NAME_FILE`` when both are set or its file cannot be read or is empty.
        """
        from arb.logs import remember_secret

        if self._literal is not None:
            remember_secret(self._literal)
            return self._literal
        assert self.env_name is not None  # one of the two is set, see __init__
        name = self.env_name
        value = os.environ.get(name)
        holder = os.environ.get(name + "_FILE")
        if value and holder:
            raise ConfigError(self.file, self.key, f"expected one of {name} and {name}_FILE to be set, got both")
        if not value and holder:
            try:
                value = Path(holder).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) and error.strerror else error.__class__.__name__
                raise ConfigError(
                    self.file, self.key, f"expected {name}_FILE to name a readable file, {holder}: {reason}"
                ) from None
            if not value:
                expected = f"expected the file {name}_FILE names ({holder}) to hold the value, got an empty file"
                raise ConfigError(self.file, self.key, expected)
        if not value:
            raise UnsetVariableError(
                self.file,
                self.key,
                f"expected environment variable {name} to be set (or {name}_FILE, naming a file that holds it)",
            )
        remember_secret(value)
        return value

    def redacted(self) -> str:
        """``"${NAME}"`` for an environment reference, ``"***"`` for a literal."""
        return "***" if self.env_name is None else "${" + self.env_name + "}"

    def __repr__(self) -> str:
        return f"Secret({self.redacted()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return (self.env_name, self._literal) == (other.env_name, other._literal)

    def __hash__(self) -> int:
        return hash((self.env_name, self._literal))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Callable[..., Secret], tuple[str | None, str | None, str, str]]:
        # copy/deepcopy/pickle (and so dataclasses.asdict) rebuild the object instead of poking slots.
        return (_rebuild_secret, (self.env_name, self._literal, self.file, self.key))


def _rebuild_secret(env_name: str | None, literal: str | None, file: str, key: str) -> Secret:
    return Secret(env_name=env_name, literal=literal, file=file, key=key)


class UnsetVariableError(ConfigError):
    """The environment variable a secret references is unset or empty (:meth:`Secret.resolve`)."""


class MissingSecretsError(ConfigError):
    """Credentials a command needs that are not there, every one at once: per file, the keys and the
    environment variables they reference that are unset (or the keys the file lacks), e.g.
    ``<venue>.toml: api_key, api_secret: expected environment variables <VENUE>_API_KEY and
    <VENUE>_API_SECRET to be set; ...``. ``missing``: (file, key, variable name or None
    for a key the file lacks)."""

    def __init__(self, missing: list[tuple[str, str, str | None]]) -> None:
        self.missing = missing
        clauses = []
        for file in dict.fromkeys(f for f, _, _ in missing):
            here = [(key, name) for f, key, name in missing if f == file]
            unset = [name for _, name in here if name is not None]
            absent = [key for key, name in here if name is None]
            if unset:
                keys = ", ".join(key for key, name in here if name is not None)
                noun = "variable" if len(unset) == 1 else "variables"
                names = unset[0] if len(unset) == 1 else ", ".join(unset[:-1]) + " and " + unset[-1]
                clauses.append(f"{file}: {keys}: expected environment {noun} {names} to be set")
            if absent:
                clauses.append(f'{file}: {", ".join(absent)}: expected "${{ENV_VAR}}" naming where the credential is')
        message = "; ".join(clauses)
        # Each clause names its own file and keys: not ConfigError's one-file, one-key shape.
        ArbError.__init__(self, message)
        self.file, self.key, _ = missing[0]
        self.expected = message


class _Keyed(Protocol):
    # A venue file's keys (arb.config.venue.VenueConfig)
    @property
    def path(self) -> Path: ...
    @property
    def api_key(self) -> Secret | None: ...
    @property
    def api_secret(self) -> Secret | None: ...
    @property
    def api_passphrase(self) -> Secret | None: ...
    @property
    def name(self) -> str: ...


class _Venues(Protocol):
    # The configuration's venues by asset number (arb.config.app.AppConfig)
    @property
    def venues(self) -> Sequence[_Keyed]: ...


def require_credentials(config: _Venues, venues: Iterable[int] | None = None) -> None:
    """Check that every venue in ``venues`` (their numbers in the run; default: every venue of the run) has
    its API key and secret (and the key's passphrase, for a venue whose ``venue.toml`` says its keys have
    one): referenced in its file, and each referenced environment variable set now. Raises :class:`MissingSecretsError`
    naming everything missing at once; reads no value beyond whether it is set."""
    missing: list[tuple[str, str, str | None]] = []
    for v in range(len(config.venues)) if venues is None else venues:
        venue = config.venues[v]
        keys = [("api_key", venue.api_key), ("api_secret", venue.api_secret)]
        if venue_facts(venue.name).passphrase:
            keys.append(("api_passphrase", venue.api_passphrase))
        for key, secret in keys:
            if secret is None:
                missing.append((str(venue.path), key, None))
            elif not secret.is_set():
                missing.append((secret.file, secret.key, secret.env_name))
    if missing:
        raise MissingSecretsError(missing)
