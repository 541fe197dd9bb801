"""The CRRT Council: each participating nation's position on a request, and the decision
recorded on the request (outcome, legal basis, scope, reason, when).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from crrt.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('council_positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Enum('support', 'object', 'abstain', name='position', native_enum=False, length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_council_positions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_council_positions_recorded_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['assistance_requests.id'], name=op.f('fk_council_positions_request_id_assistance_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_positions')),
    sa.UniqueConstraint('request_id', 'organisation_id', name=op.f('uq_council_positions_request_id_organisation_id'))
    )
    with op.batch_alter_table('council_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_positions_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.Enum('activate', 'decline', name='outcome', native_enum=False, length=32), nullable=True))
        batch_op.add_column(sa.Column('legal_basis', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('scope', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.drop_column('decided_at')
        batch_op.drop_column('reason')
        batch_op.drop_column('scope')
        batch_op.drop_column('legal_basis')
        batch_op.drop_column('outcome')

    with op.batch_alter_table('council_positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_positions_request_id'))

    op.drop_table('council_positions')
