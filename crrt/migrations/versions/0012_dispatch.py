"""Dispatch under load: a deployment member's ``engaged`` marks the member holding its expert
(active on an open deployment), unique per expert, so proposals running side by side never
share an expert; an outbox message's ``urgent`` (a call-out) is sent before the rest.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('deployment_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('engaged', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # The earliest active member of an open deployment holds its expert; an expert proposed to
    # two open deployments before this revision stays on both, engaged on the first.
    op.execute(
        "UPDATE deployment_members SET engaged = TRUE WHERE id IN ("
        " SELECT min(m.id) FROM deployment_members m"
        " JOIN deployments d ON d.id = m.deployment_id"
        " WHERE m.active AND d.state IN ('planned', 'deploying', 'deployed')"
        " GROUP BY m.expert_id)")
    with op.batch_alter_table('deployment_members', schema=None) as batch_op:
        batch_op.create_index('uq_deployment_members_engaged', ['expert_id'], unique=True,
                              sqlite_where=sa.text('engaged'),
                              postgresql_where=sa.text('engaged'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('deployment_members', schema=None) as batch_op:
        batch_op.drop_index('uq_deployment_members_engaged',
                            sqlite_where=sa.text('engaged'),
                            postgresql_where=sa.text('engaged'))
        batch_op.drop_column('engaged')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('urgent')
