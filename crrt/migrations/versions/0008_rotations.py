"""Rotations: team templates, nations' commitments, plans (drafts keep the solver's answer),
published rotations with their members and weekly duty, and the secret addresses of personal
duty calendars (their SHA-256 only).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from crrt.core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('team_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('min_size', sa.Integer(), nullable=False),
    sa.Column('max_size', sa.Integer(), nullable=False),
    sa.Column('min_nations', sa.Integer(), nullable=False),
    sa.Column('max_per_nation', sa.Integer(), nullable=False),
    sa.Column('consecutive', sa.Boolean(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('slots', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('min_size <= max_size', name=op.f('ck_team_templates_size_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_team_templates_name')),
    sa.UniqueConstraint('public_id', name=op.f('uq_team_templates_public_id'))
    )
    op.create_table('commitments',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('seats_per_year', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('seats_per_year >= 0', name=op.f('ck_commitments_not_negative')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_commitments_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_commitments'))
    )
    op.create_table('rotation_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('periods', sa.Integer(), nullable=False),
    sa.Column('period_months', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'published', 'discarded', name='planstate', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('optimal', 'feasible', 'infeasible', name='solvestatus', native_enum=False, length=32), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['team_templates.id'], name=op.f('fk_rotation_plans_template_id_team_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_plans')),
    sa.UniqueConstraint('public_id', name=op.f('uq_rotation_plans_public_id'))
    )
    with op.batch_alter_table('rotation_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_plans_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotation_plans_template_id'), ['template_id'], unique=False)

    op.create_table('rotations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_rotations_ordered')),
    sa.ForeignKeyConstraint(['plan_id'], ['rotation_plans.id'], name=op.f('fk_rotations_plan_id_rotation_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotations')),
    sa.UniqueConstraint('plan_id', 'number', name=op.f('uq_rotations_plan_id_number')),
    sa.UniqueConstraint('public_id', name=op.f('uq_rotations_public_id'))
    )
    with op.batch_alter_table('rotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotations_ends_on'), ['ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotations_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotations_starts_on'), ['starts_on'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], name=op.f('fk_calendar_feeds_expert_id_experts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('expert_id', name=op.f('uq_calendar_feeds_expert_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', UTCDateTime(), nullable=False),
    sa.Column('ends_at', UTCDateTime(), nullable=False),
    sa.Column('primary_id', sa.Integer(), nullable=True),
    sa.Column('backup_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_duty_shifts_ordered')),
    sa.ForeignKeyConstraint(['backup_id'], ['experts.id'], name=op.f('fk_duty_shifts_backup_id_experts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['primary_id'], ['experts.id'], name=op.f('fk_duty_shifts_primary_id_experts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotations.id'], name=op.f('fk_duty_shifts_rotation_id_rotations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts'))
    )
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shifts_backup_id'), ['backup_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_shifts_primary_id'), ['primary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_shifts_rotation_id'), ['rotation_id'], unique=False)

    op.create_table('rotation_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('slot_skill', sa.String(length=40), nullable=False),
    sa.Column('lead', sa.Boolean(), nullable=False),
    sa.Column('withdrawn_at', UTCDateTime(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('public_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], name=op.f('fk_rotation_members_expert_id_experts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_rotation_members_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotations.id'], name=op.f('fk_rotation_members_rotation_id_rotations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_members')),
    sa.UniqueConstraint('public_id', name=op.f('uq_rotation_members_public_id'))
    )
    with op.batch_alter_table('rotation_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_members_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotation_members_rotation_id'), ['rotation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rotation_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_members_rotation_id'))
        batch_op.drop_index(batch_op.f('ix_rotation_members_expert_id'))

    op.drop_table('rotation_members')
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_shifts_rotation_id'))
        batch_op.drop_index(batch_op.f('ix_duty_shifts_primary_id'))
        batch_op.drop_index(batch_op.f('ix_duty_shifts_backup_id'))

    op.drop_table('duty_shifts')
    op.drop_table('calendar_feeds')
    with op.batch_alter_table('rotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotations_starts_on'))
        batch_op.drop_index(batch_op.f('ix_rotations_plan_id'))
        batch_op.drop_index(batch_op.f('ix_rotations_ends_on'))

    op.drop_table('rotations')
    with op.batch_alter_table('rotation_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_plans_template_id'))
        batch_op.drop_index(batch_op.f('ix_rotation_plans_state'))

    op.drop_table('rotation_plans')
    op.drop_table('commitments')
    op.drop_table('team_templates')
