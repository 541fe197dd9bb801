"""Every part of crrt, loaded at once: its tables, and what it registers with the shared layer
(its jobs, the personal data it holds).

The worker, ``crrt serve`` (through ``create_app``), the other commands and the tests call
:func:`load`, so no registry misses a part because a process did not happen to import it.
"""

from __future__ import annotations

import importlib

from crrt.models import load_all

# Each part's modules that register themselves on import; a new part adds its own here.
REGISTERING = (
    "crrt.assistance.jobs",
    "crrt.assistance.personal_data",
    "crrt.assistance.service",
    "crrt.auth.jobs",
    "crrt.auth.personal_data",
    "crrt.experts.jobs",
    "crrt.experts.personal_data",
    "crrt.intel.jobs",
    "crrt.notify.jobs",
    "crrt.rotations.personal_data",
    "crrt.workflow.jobs",
)


def load() -> None:
    """Import every part's tables and registrations (idempotent)."""
    load_all()
    for name in REGISTERING:
        importlib.import_module(name)
