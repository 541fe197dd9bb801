"""Requests for assistance: intake, clocks, the Council, consent, dispatch (issue 15)."""
