"""The demo picture of the project, loaded by ``crrt demo load`` and ``make run``."""
