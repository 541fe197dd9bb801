"""Requests for assistance (intake and their SLA clocks, marked with TLP and moved by the
"request" state machine) and the arrangements on file that let partners ask.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from crrt.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('arrangements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('expires_on IS NULL OR expires_on >= signed_on', name=op.f('ck_arrangements_ordered')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_arrangements_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrangements')),
    sa.UniqueConstraint('public_id', name=op.f('uq_arrangements_public_id'))
    )
    with op.batch_alter_table('arrangements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrangements_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('assistance_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('participant', 'member_state', 'eu_institution', 'csdp_mission', 'partner', name='category', native_enum=False, length=32), nullable=False),
    sa.Column('channel', sa.Enum('web', 'api', 'phone', 'email', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=320), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('affected_entity', sa.String(length=200), nullable=False),
    sa.Column('sector', sa.String(length=100), nullable=False),
    sa.Column('essential_entity', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('mode', sa.Enum('remote', 'on_site', 'hybrid', name='mode', native_enum=False, length=32), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('mitigation', sa.Text(), nullable=False),
    sa.Column('other_support', sa.JSON(), nullable=False),
    sa.Column('cross_border', sa.Boolean(), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('triage_due_at', UTCDateTime(), nullable=False),
    sa.Column('decision_due_at', UTCDateTime(), nullable=False),
    sa.Column('response_due_at', UTCDateTime(), nullable=False),
    sa.Column('met', sa.JSON(), nullable=False),
    sa.Column('tlp', sa.Enum('clear', 'green', 'amber', 'amber+strict', 'red', name='tlp', native_enum=False, length=32), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('state_since', UTCDateTime(), nullable=False),
    sa.CheckConstraint('severity BETWEEN 0 AND 4', name=op.f('ck_assistance_requests_severity_range')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_assistance_requests_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_assistance_requests_submitted_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assistance_requests')),
    sa.UniqueConstraint('public_id', name=op.f('uq_assistance_requests_public_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_assistance_requests_reference'))
    )
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assistance_requests_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_response_due_at'), ['response_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_assistance_requests_submitted_by'), ['submitted_by'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('assistance_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assistance_requests_submitted_by'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_state'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_response_due_at'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_received_at'))
        batch_op.drop_index(batch_op.f('ix_assistance_requests_organisation_id'))

    op.drop_table('assistance_requests')
    with op.batch_alter_table('arrangements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrangements_organisation_id'))

    op.drop_table('arrangements')
