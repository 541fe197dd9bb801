"""Every part of crrt, loaded at once: its tables and its jobs.

The worker, ``crrt serve`` (through ``create_app``), the other commands and the tests call
:func:`load`, so the jobs registry is complete wherever a job may be run or scheduled.
"""

from __future__ import annotations

import importlib

from crrt.models import load_all

# Each part's module of jobs (registered on import); a new part adds its own here.
JOB_MODULES = (
    "crrt.auth.jobs",
    "crrt.notify.jobs",
)


def load() -> None:
    """Import every part's tables and every part's jobs module."""
    load_all()
    for module in JOB_MODULES:
        importlib.import_module(module)
