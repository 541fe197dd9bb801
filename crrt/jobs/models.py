"""The jobs' state: one schedule row per periodic job, and the queue of one-off tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crrt.core import clock
from crrt.core.db import Base, UTCDateTime
from crrt.jobs.registry import NAME_LENGTH

WORKER_LENGTH = 200


class JobSchedule(Base):
    """When a periodic job runs next, who holds it now, and how its last runs went."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str] = mapped_column(String(WORKER_LENGTH), default="")
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive, 0 after a success
    last_error: Mapped[str] = mapped_column(Text, default="")


class JobTask(Base):
    """A one-off job, queued in the transaction of the change that asked for it."""

    __tablename__ = "job_tasks"
    __table_args__ = (Index("ix_job_tasks_due", "done_at", "failed_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str] = mapped_column(String(WORKER_LENGTH), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
