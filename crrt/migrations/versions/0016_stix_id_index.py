"""Intel: drop the index of ``stix_objects.stix_id`` alone; the unique index of (stix_id,
version) begins with it and serves every lookup by id, and a second index only cost each
insert (about a tenth of a bulk load on PostgreSQL).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stix_objects_stix_id'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stix_objects_stix_id'), ['stix_id'], unique=False)
