"""Intel sharing: collections (sharing groups) with their member organisations, and the STIX
store, each object version once, placed in collections with the date it was added.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from crrt.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('intel_collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('max_tlp', sa.Enum('clear', 'green', 'amber', 'amber+strict', 'red', name='tlp', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_collections')),
    sa.UniqueConstraint('public_id', name=op.f('uq_intel_collections_public_id')),
    sa.UniqueConstraint('title', name=op.f('uq_intel_collections_title'))
    )
    op.create_table('intel_collection_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('can_read', sa.Boolean(), nullable=False),
    sa.Column('can_write', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['intel_collections.id'], name=op.f('fk_intel_collection_members_collection_id_intel_collections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_intel_collection_members_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_collection_members')),
    sa.UniqueConstraint('collection_id', 'organisation_id', name=op.f('uq_intel_collection_members_collection_id_organisation_id'))
    )
    with op.batch_alter_table('intel_collection_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_collection_members_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intel_collection_members_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('stix_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stix_id', sa.String(length=120), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('spec_version', sa.String(length=8), nullable=False),
    sa.Column('created', sa.String(length=32), nullable=True),
    sa.Column('modified', sa.String(length=32), nullable=True),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('created_by_ref', sa.String(length=120), nullable=True),
    sa.Column('marking_refs', sa.JSON(), nullable=False),
    sa.Column('tlp', sa.Enum('clear', 'green', 'amber', 'amber+strict', 'red', name='tlp', native_enum=False, length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('stored_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_stix_objects_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stix_objects')),
    sa.UniqueConstraint('stix_id', 'version', name=op.f('uq_stix_objects_stix_id_version'))
    )
    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stix_objects_stix_id'), ['stix_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stix_objects_type'), ['type'], unique=False)

    op.create_table('intel_collection_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('date_added', UTCDateTime(), nullable=False),
    sa.Column('latest', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['intel_collections.id'], name=op.f('fk_intel_collection_objects_collection_id_intel_collections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['object_id'], ['stix_objects.id'], name=op.f('fk_intel_collection_objects_object_id_stix_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_collection_objects')),
    sa.UniqueConstraint('collection_id', 'object_id', name=op.f('uq_intel_collection_objects_collection_id_object_id'))
    )
    with op.batch_alter_table('intel_collection_objects', schema=None) as batch_op:
        batch_op.create_index('ix_intel_collection_objects_added', ['collection_id', 'date_added', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_intel_collection_objects_object_id'), ['object_id'], unique=False)

    op.create_table('intel_add_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', UTCDateTime(), nullable=False),
    sa.Column('total_count', sa.Integer(), nullable=False),
    sa.Column('successes', sa.JSON(), nullable=False),
    sa.Column('failures', sa.JSON(), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['intel_collections.id'], name=op.f('fk_intel_add_statuses_collection_id_intel_collections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_add_statuses')),
    sa.UniqueConstraint('public_id', name=op.f('uq_intel_add_statuses_public_id'))
    )
    with op.batch_alter_table('intel_add_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_add_statuses_collection_id'), ['collection_id'], unique=False)
    op.create_table('intel_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=2048), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['object_id'], ['stix_objects.id'], name=op.f('fk_intel_values_object_id_stix_objects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_values'))
    )
    with op.batch_alter_table('intel_values', schema=None) as batch_op:
        batch_op.create_index('ix_intel_values_key', ['kind', 'key'], unique=False)
        batch_op.create_index('ix_intel_values_value', ['kind', 'value'], unique=False)
        batch_op.create_index(batch_op.f('ix_intel_values_object_id'), ['object_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('intel_values')
    with op.batch_alter_table('intel_add_statuses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_add_statuses_collection_id'))

    op.drop_table('intel_add_statuses')
    with op.batch_alter_table('intel_collection_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_collection_objects_object_id'))
        batch_op.drop_index('ix_intel_collection_objects_added')

    op.drop_table('intel_collection_objects')
    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stix_objects_type'))
        batch_op.drop_index(batch_op.f('ix_stix_objects_stix_id'))

    op.drop_table('stix_objects')
    with op.batch_alter_table('intel_collection_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_collection_members_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_intel_collection_members_collection_id'))

    op.drop_table('intel_collection_members')
    op.drop_table('intel_collections')
