"""Imports every part's tables, so one metadata (and one migration chain) holds them all."""

from __future__ import annotations


def load_all() -> None:
    """Register every table with :data:`crrt.core.db.Base.metadata`."""
    import crrt.access.models
    import crrt.assistance.models
    import crrt.audit.models
    import crrt.auth.models
    import crrt.experts.models
    import crrt.intel.models
    import crrt.jobs.models
    import crrt.notify.models
    import crrt.organisations.models
    import crrt.rotations.models  # noqa: F401
