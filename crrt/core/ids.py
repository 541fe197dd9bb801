"""Public identifiers: UUIDs for anything that may travel between national nodes.

Integer keys stay inside one database (joins, keyset pagination); what leaves it (URLs,
exports, federation) names a record by its ``public_id``, which means the same thing on every
node and reveals neither how many records exist nor in what order they came.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid
from sqlalchemy.orm import Mapped, mapped_column


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class PublicId:
    """Mixin: a random UUID set on creation, unique, used wherever the record is named."""

    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=new_id)

