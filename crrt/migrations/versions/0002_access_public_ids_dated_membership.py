"""Access model, public ids, dated membership: named recipients of marked records; a UUID
public id for experts, their unavailability, institutions and membership changes (existing
rows get one each); a nation's membership read from its dated history (the column goes).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 07:51:45.814308

"""
import uuid
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC = ("experts", "institutions", "membership_changes", "unavailability")


def _add_public_id(table: str) -> None:
    with op.batch_alter_table(table) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.Uuid(), nullable=True))
    connection = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column("public_id", sa.Uuid))
    for (row_id,) in connection.execute(sa.select(rows.c.id)).all():
        connection.execute(sa.update(rows).where(rows.c.id == row_id)
                           .values(public_id=uuid.uuid4()))
    with op.batch_alter_table(table) as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.create_unique_constraint(f"uq_{table}_public_id", ["public_id"])


def upgrade() -> None:
    op.create_table(
        "access_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_key", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(organisation_id IS NULL) <> (user_id IS NULL)",
                           name=op.f("ck_access_recipients_one_kind")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_access_recipients_organisation_id_organisations"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_access_recipients_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_recipients")),
        sa.UniqueConstraint(
            "resource_type", "resource_key", "organisation_id", "user_id",
            name=op.f("uq_access_recipients_resource_type_resource_key_organisation_id_user_id")),
    )
    with op.batch_alter_table("access_recipients") as batch_op:
        batch_op.create_index(batch_op.f("ix_access_recipients_organisation_id"),
                              ["organisation_id"], unique=False)
        batch_op.create_index("ix_access_recipients_resource", ["resource_type", "resource_key"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_access_recipients_user_id"), ["user_id"],
                              unique=False)

    for table in PUBLIC:
        _add_public_id(table)
    with op.batch_alter_table("membership_changes") as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_changes_effective_on"), ["effective_on"],
                              unique=False)
    with op.batch_alter_table("organisations") as batch_op:
        batch_op.drop_column("membership")


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch_op:
        batch_op.add_column(sa.Column("membership", sa.VARCHAR(length=32), nullable=True))
    connection = op.get_bind()
    changes = sa.table("membership_changes", sa.column("id", sa.Integer),
                       sa.column("organisation_id", sa.Integer),
                       sa.column("membership", sa.String), sa.column("effective_on", sa.Date))
    orgs = sa.table("organisations", sa.column("id", sa.Integer),
                    sa.column("membership", sa.String))
    in_force: dict[int, str | None] = {}
    for org_id, membership in connection.execute(
            sa.select(changes.c.organisation_id, changes.c.membership)
            .where(changes.c.effective_on <= date.today())
            .order_by(changes.c.effective_on, changes.c.id)).all():
        in_force[org_id] = membership
    for org_id, membership in in_force.items():
        connection.execute(sa.update(orgs).where(orgs.c.id == org_id)
                           .values(membership=membership))
    with op.batch_alter_table("membership_changes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_changes_effective_on"))
    for table in reversed(PUBLIC):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_public_id", type_="unique")
            batch_op.drop_column("public_id")
    with op.batch_alter_table("access_recipients") as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_recipients_user_id"))
        batch_op.drop_index("ix_access_recipients_resource")
        batch_op.drop_index(batch_op.f("ix_access_recipients_organisation_id"))
    op.drop_table("access_recipients")
