"""labels: a person's (or the 311 system's) label of an archived post, for retraining (issue 17)

Revision ID: 0007_labels
Revises: 0001_base
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007_labels'
down_revision = '0001_base'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('actionable', sa.Boolean(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('old_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('old_actionable', sa.Boolean(), nullable=True),
    sa.Column('old_version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('post_id', 'kind', 'by', name='uq_labels_post_kind_by')
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labels_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_labels_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labels_created_at'))
        batch_op.drop_index(batch_op.f('ix_labels_post_id'))
    op.drop_table('labels')
