"""The live account's journal: intents before they are sent, answers, fills once each (see journal.py)."""

from arb.journal.journal import (
    SCHEMA_VERSION,
    TERMINAL_STATES,
    DuplicateIntentError,
    Journal,
    JournalError,
)

__all__ = ["SCHEMA_VERSION", "TERMINAL_STATES", "DuplicateIntentError", "Journal", "JournalError"]
