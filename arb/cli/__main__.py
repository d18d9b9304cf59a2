"""``python -m arb.cli``: the ``arb`` command (:func:`arb.cli.run`)."""

from arb.cli import run

run()
