"""Intel: the tables written a row per object of an envelope (objects, placements, indexed
values, references) lose their foreign keys and the indexes no query reads. PostgreSQL
checks each key by a query per row, about a tenth of a bulk load's time, and every index is
written at every row. What the keys guarded holds by construction (see
``crrt.intel.models.STORE_KEYS``). The placements' unique key puts the object first, so that
one index finds an object's placements and a placement by both.

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

PLACEMENTS = 'intel_collection_objects'


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table(PLACEMENTS, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_collection_objects_object_id'))
        batch_op.drop_constraint(
            batch_op.f('uq_intel_collection_objects_collection_id_object_id'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_intel_collection_objects_object_id_collection_id'),
            ['object_id', 'collection_id'])
        batch_op.drop_constraint(
            batch_op.f('fk_intel_collection_objects_collection_id_intel_collections'),
            type_='foreignkey')
        batch_op.drop_constraint(
            batch_op.f('fk_intel_collection_objects_object_id_stix_objects'),
            type_='foreignkey')

    with op.batch_alter_table('intel_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_refs_object_id'))
        batch_op.drop_constraint(batch_op.f('fk_intel_refs_object_id_stix_objects'),
                                 type_='foreignkey')

    with op.batch_alter_table('intel_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_values_object_id'))
        batch_op.drop_constraint(batch_op.f('fk_intel_values_object_id_stix_objects'),
                                 type_='foreignkey')

    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stix_objects_type'))
        batch_op.drop_constraint(batch_op.f('fk_stix_objects_organisation_id_organisations'),
                                 type_='foreignkey')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('stix_objects', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_stix_objects_organisation_id_organisations'), 'organisations',
            ['organisation_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_stix_objects_type'), ['type'], unique=False)

    with op.batch_alter_table('intel_values', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_intel_values_object_id_stix_objects'),
                                    'stix_objects', ['object_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_intel_values_object_id'), ['object_id'],
                              unique=False)

    with op.batch_alter_table('intel_refs', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_intel_refs_object_id_stix_objects'),
                                    'stix_objects', ['object_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_intel_refs_object_id'), ['object_id'],
                              unique=False)

    with op.batch_alter_table(PLACEMENTS, schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_intel_collection_objects_object_id_stix_objects'), 'stix_objects',
            ['object_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(
            batch_op.f('fk_intel_collection_objects_collection_id_intel_collections'),
            'intel_collections', ['collection_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_constraint(
            batch_op.f('uq_intel_collection_objects_object_id_collection_id'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_intel_collection_objects_collection_id_object_id'),
            ['collection_id', 'object_id'])
        batch_op.create_index(batch_op.f('ix_intel_collection_objects_object_id'),
                              ['object_id'], unique=False)
