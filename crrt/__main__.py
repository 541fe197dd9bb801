"""``python -m crrt`` is the ``crrt`` command."""

from crrt.cli import app

app()
