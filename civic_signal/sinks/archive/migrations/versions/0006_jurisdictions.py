"""jurisdiction columns: classifications, incidents and tickets say which city they belong to (issue 16)

Existing incidents and tickets were Boston's (the server default); existing classifications keep NULL
(not routed). Depends on 0002_incidents (it alters the incidents table).

Revision ID: 0006_jurisdictions
Revises: 0002_incidents
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_jurisdictions'
down_revision = '0002_incidents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jurisdiction', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_classifications_jurisdiction'), ['jurisdiction'], unique=False)
    for table in ('incidents', 'tickets'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('jurisdiction', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False,
                                          server_default='boston'))
            batch_op.create_index(batch_op.f(f'ix_{table}_jurisdiction'), ['jurisdiction'], unique=False)


def downgrade() -> None:
    for table in ('tickets', 'incidents', 'classifications'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_jurisdiction'))
            batch_op.drop_column('jurisdiction')
