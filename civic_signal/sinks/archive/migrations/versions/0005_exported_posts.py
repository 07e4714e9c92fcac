"""exported_posts: which post is in which exported file, so that a delete removes those files (issue 21)

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
    op.create_table('exported_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('post_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('path', 'post_id', name='uq_exported_posts_path_post')
    )
    with op.batch_alter_table('exported_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exported_posts_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_exported_posts_post_id'), ['post_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('exported_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exported_posts_post_id'))
        batch_op.drop_index(batch_op.f('ix_exported_posts_path'))
    op.drop_table('exported_posts')
