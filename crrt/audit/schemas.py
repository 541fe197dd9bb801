"""What the audit API gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventOut(BaseModel):
    """One event. ``unreadable`` is null unless the stored ``changes`` cannot be read as one
    JSON object (a row altered in the database): then ``changes`` is ``{}`` and
    ``unreadable`` says why, and ``crrt audit verify`` reports the chain broken there."""

    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]
    prev_hash: str
    hash: str
    unreadable: str | None = None
