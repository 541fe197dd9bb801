"""Each organisation's contact card: a 24/7 hotline, the team's e-mail, its PGP key
fingerprint, a secure messenger handle and the TLP it shares under by default (all optional:
a card starts empty and its nation fills it in).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("hotline", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("pgp_fingerprint", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("messenger", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("default_tlp", sa.Enum(
            "clear", "green", "amber", "amber+strict", "red", name="tlp", native_enum=False,
            length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("default_tlp")
        batch.drop_column("messenger")
        batch.drop_column("pgp_fingerprint")
        batch.drop_column("contact_email")
        batch.drop_column("hotline")
