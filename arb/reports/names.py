"""The choices ``arb report`` offers on its command line, apart from the code that computes a report.

The figures, the sources and the pages load numpy, SQLAlchemy and matplotlib; the command's parser
names only these, so ``arb report --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

__all__ = ["PERIODS", "SOURCES"]

from typing import Final

PERIODS: Final = ("day", "week", "month")
"""The periods a report covers: a UTC day, a week from Monday, a month."""
SOURCES: Final = ("backtest", "paper", "live")
"""Where a report's records come from: a backtest's results, the paper account, the live journal."""
