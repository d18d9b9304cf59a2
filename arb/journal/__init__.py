"""The journals: the live account's (intents before they are sent, answers, fills once each; see
:mod:`arb.journal.journal`) and a paper account's (every paper fill and funding payment with the
account's state; see :mod:`arb.journal.paper`), both SQLite (or PostgreSQL for the live one)."""

__all__ = [
    "PAPER_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "TERMINAL_STATES",
    "DuplicateIntentError",
    "Journal",
    "JournalError",
    "PaperJournal",
    "PaperRecords",
    "read_paper_journal",
]

from arb.journal.journal import (
    SCHEMA_VERSION,
    TERMINAL_STATES,
    DuplicateIntentError,
    Journal,
    JournalError,
)
from arb.journal.paper import PAPER_SCHEMA_VERSION, PaperJournal, PaperRecords, read_paper_journal
