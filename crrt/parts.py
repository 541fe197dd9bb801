"""Every part of crrt, loaded once: its tables, and what it registers with the shared layer
(the personal data it holds), so that nothing is missed by a process that did not happen to
import that part."""

from __future__ import annotations

import importlib

from crrt.models import load_all

# Each part's modules that register themselves with the shared layer.
REGISTERING = (
    "crrt.auth.personal_data",
    "crrt.experts.personal_data",
)


def load() -> None:
    """Import every part's tables and registrations (idempotent)."""
    load_all()
    for name in REGISTERING:
        importlib.import_module(name)
