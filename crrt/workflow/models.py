"""What a record moved by a state machine carries: its state and since when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crrt.core import clock
from crrt.core.db import UTCDateTime


class Stateful:
    """Mixin: the record's state and the moment it entered it (deadlines count from there)."""

    state: Mapped[str] = mapped_column(String(32), index=True)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
