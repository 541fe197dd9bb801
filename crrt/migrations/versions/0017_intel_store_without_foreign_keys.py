"""Intel: the tables written a row per object of an envelope (objects, placements, indexed
values, references) lose their foreign keys. PostgreSQL checks each key by a query per row,
about a tenth of a bulk load's time; what the keys guarded holds by construction (see
``crrt.intel.models.STORE_KEYS``).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('intel_collection_objects', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_intel_collection_objects_collection_id_intel_collections'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_intel_collection_objects_object_id_stix_objects'), type_='foreignkey')

    with op.batch_alter_table('intel_refs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_intel_refs_object_id_stix_objects'), type_='foreignkey')

    with op.batch_alter_table('intel_values', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_intel_values_object_id_stix_objects'), type_='foreignkey')

    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stix_objects_organisation_id_organisations'), type_='foreignkey')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_stix_objects_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'])

    with op.batch_alter_table('intel_values', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_intel_values_object_id_stix_objects'), 'stix_objects', ['object_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('intel_refs', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_intel_refs_object_id_stix_objects'), 'stix_objects', ['object_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('intel_collection_objects', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_intel_collection_objects_object_id_stix_objects'), 'stix_objects', ['object_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_intel_collection_objects_collection_id_intel_collections'), 'intel_collections', ['collection_id'], ['id'], ondelete='CASCADE')

