"""label_suggestions: the posts `civic-signal review suggest` offered for labelling, per day (issue 17)

Revision ID: 0008_label_suggestions
Revises: 0001_base
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008_label_suggestions'
down_revision = '0001_base'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('post_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'post_id', name='uq_label_suggestions_day_post')
    )
    with op.batch_alter_table('label_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_suggestions_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_suggestions_post_id'), ['post_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label_suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_suggestions_post_id'))
        batch_op.drop_index(batch_op.f('ix_label_suggestions_day'))
    op.drop_table('label_suggestions')
