"""Federation: peers (other TAXII 2.1 servers, each mapped onto one of our collections, with
its direction, TLP ceiling, sealed token and cursors) and the log of each sync round.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from crrt.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('intel_peers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('api_root', sa.String(length=2000), nullable=False),
    sa.Column('remote_collection', sa.String(length=200), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('pull', 'push', 'both', name='direction', native_enum=False, length=32), nullable=False),
    sa.Column('max_tlp', sa.Enum('clear', 'green', 'amber', 'amber+strict', 'red', name='tlp', native_enum=False, length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('auth', sa.Enum('bearer', 'basic', name='peerauth', native_enum=False, length=32), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('token_sealed', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('pull_after', sa.String(length=40), nullable=True),
    sa.Column('pull_next', sa.String(length=1000), nullable=True),
    sa.Column('pull_seen', sa.String(length=40), nullable=True),
    sa.Column('push_added', UTCDateTime(), nullable=True),
    sa.Column('push_placement', sa.Integer(), nullable=False),
    sa.Column('next_sync_at', UTCDateTime(), nullable=True),
    sa.Column('lease_holder', sa.String(length=36), nullable=True),
    sa.Column('lease_until', UTCDateTime(), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['intel_collections.id'], name=op.f('fk_intel_peers_collection_id_intel_collections')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_intel_peers_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_peers')),
    sa.UniqueConstraint('name', name=op.f('uq_intel_peers_name')),
    sa.UniqueConstraint('public_id', name=op.f('uq_intel_peers_public_id'))
    )
    with op.batch_alter_table('intel_peers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_peers_collection_id'), ['collection_id'], unique=False)

    op.create_table('intel_sync_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('peer_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('pull', 'push', 'both', name='direction', native_enum=False, length=32), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('pulled', sa.Integer(), nullable=False),
    sa.Column('pushed', sa.Integer(), nullable=False),
    sa.Column('withheld', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('running', 'complete', 'incomplete', 'failed', 'interrupted', name='syncoutcome', native_enum=False, length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['peer_id'], ['intel_peers.id'], name=op.f('fk_intel_sync_log_peer_id_intel_peers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_sync_log')),
    sa.UniqueConstraint('public_id', name=op.f('uq_intel_sync_log_public_id'))
    )
    with op.batch_alter_table('intel_sync_log', schema=None) as batch_op:
        batch_op.create_index('ix_intel_sync_log_peer', ['peer_id', 'id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('intel_sync_log', schema=None) as batch_op:
        batch_op.drop_index('ix_intel_sync_log_peer')

    op.drop_table('intel_sync_log')
    with op.batch_alter_table('intel_peers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_peers_collection_id'))

    op.drop_table('intel_peers')
