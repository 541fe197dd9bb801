"""Intel: the correlation index's table loses its index of ranges (kind, key), which no query
of the product reads (correlation asks the in-memory copy, which follows the table by its
ids; see ``crrt.intel.correlate.Memory``), and every bulk load wrote it at every value; the
index of values stays (the objects page searches by a value). On PostgreSQL an envelope's
status resource (a list of ids, tens of kilobytes) is compressed with LZ4 where the server
has it: half the time of the default compression.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATUS_COLUMNS = ('successes', 'failures')


def _compression(method: str) -> None:
    """The status resource's lists compressed by ``method``, on a PostgreSQL that has it."""
    connection = op.get_bind()
    if connection.dialect.name != 'postgresql':
        return
    methods = connection.exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'").scalar()
    if method not in (methods or []):
        return
    for column in STATUS_COLUMNS:
        op.execute(f'ALTER TABLE intel_add_statuses ALTER COLUMN {column} '
                   f'SET COMPRESSION {method}')


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('intel_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_values_key'))
    _compression('lz4')


def downgrade() -> None:
    """Downgrade schema."""
    _compression('pglz')
    with op.batch_alter_table('intel_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_values_key'), ['kind', 'key'], unique=False)
