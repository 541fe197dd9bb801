"""Intel: where relationships and sightings point (``intel_refs``), so an object's page
finds what points to it by an index, not by reading every body; filled for what is stored.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28

"""
import json
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

REFS = ("source_ref", "target_ref", "sighting_of_ref")


def upgrade() -> None:
    """Upgrade schema."""
    refs = op.create_table('intel_refs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['object_id'], ['stix_objects.id'], name=op.f('fk_intel_refs_object_id_stix_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_refs'))
    )
    with op.batch_alter_table('intel_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_refs_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intel_refs_ref'), ['ref'], unique=False)

    connection = op.get_bind()
    stored = connection.execute(sa.text(
        "SELECT id, body FROM stix_objects WHERE type IN ('relationship', 'sighting')"))
    rows = []
    for object_id, body in stored:
        said = json.loads(body) if isinstance(body, str) else body
        rows += [{"object_id": object_id, "ref": said[ref]} for ref in REFS
                 if isinstance(said.get(ref), str) and len(said[ref]) <= 120]
    if rows:
        op.bulk_insert(refs, rows)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('intel_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_refs_ref'))
        batch_op.drop_index(batch_op.f('ix_intel_refs_object_id'))

    op.drop_table('intel_refs')
