"""What responders are reached by and when their record was last confirmed: a secure
messenger handle, a PGP key fingerprint, the clearance's expiry, and ``verified_at``.

Existing records count as confirmed when they last changed (a nomination or an edit was
someone confirming them), so the upgrade marks nothing stale that was recently kept.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:30:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("experts") as batch:
        batch.add_column(sa.Column("messenger", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("pgp_fingerprint", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("clearance_expires_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE experts SET verified_at = updated_at")


def downgrade() -> None:
    with op.batch_alter_table("experts") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("clearance_expires_on")
        batch.drop_column("pgp_fingerprint")
        batch.drop_column("messenger")
