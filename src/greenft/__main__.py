"""``python -m greenft`` is the ``greenft`` command."""

from greenft.cli import app

app()
