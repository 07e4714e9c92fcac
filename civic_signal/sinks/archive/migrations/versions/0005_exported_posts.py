"""exports, exported_posts: which post is in which exported files, so that a delete removes them (issue 21)

Revision ID: 0005_exported_posts
Revises: 0001_base
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005_exported_posts'
down_revision = '0001_base'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paths', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('exported_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('export_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('export_id', 'post_id', name='uq_exported_posts_export_post')
    )
    with op.batch_alter_table('exported_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exported_posts_export_id'), ['export_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exported_posts_post_id'), ['post_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('exported_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exported_posts_post_id'))
        batch_op.drop_index(batch_op.f('ix_exported_posts_export_id'))
    op.drop_table('exported_posts')
    op.drop_table('exports')
