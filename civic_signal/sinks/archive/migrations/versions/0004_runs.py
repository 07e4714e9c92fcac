"""runs: one row per replay run (source, classifier kind/version, settings, times, counts)

Revision ID: 0004_runs
Revises: 0001_base
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004_runs'
down_revision = '0001_base'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('runs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('classifier_kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('classifier_version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('settings', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('send_tickets', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posts_in', sa.Integer(), nullable=False),
    sa.Column('classified', sa.Integer(), nullable=False),
    sa.Column('actionable', sa.Integer(), nullable=False),
    sa.Column('dead_letters', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_started_at'))
        batch_op.drop_index(batch_op.f('ix_runs_status'))
    op.drop_table('runs')
