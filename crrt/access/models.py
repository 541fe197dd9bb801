"""The table of named recipients: who, besides what the marking allows, may read a record."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from crrt.core.db import Base


class Recipient(Base):
    """An organisation or an individual named on one record (TLP:AMBER and TLP:RED)."""

    __tablename__ = "access_recipients"
    __table_args__ = (
        CheckConstraint("(organisation_id IS NULL) <> (user_id IS NULL)", name="one_kind"),
        UniqueConstraint("resource_type", "resource_key", "organisation_id", "user_id"),
        Index("ix_access_recipients_resource", "resource_type", "resource_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_key: Mapped[uuid.UUID] = mapped_column(Uuid)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
