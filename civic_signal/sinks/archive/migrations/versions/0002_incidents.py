"""incidents: incidents, incident reports, per-category locks, ticket events

Revision ID: 0002_incidents
Revises: 0001_base
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002_incidents'
down_revision = '0001_base'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', _S(length=64), nullable=False),
    sa.Column('category_code', _S(length=40), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('address', _S(length=300), nullable=True),
    sa.Column('address_key', _S(length=300), nullable=True),
    sa.Column('neighborhood', _S(length=100), nullable=True),
    sa.Column('first_post_id', _S(length=200), nullable=False),
    sa.Column('first_seen_at', _TS, nullable=False),
    sa.Column('last_seen_at', _TS, nullable=False),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('status', _S(length=20), nullable=False),
    sa.Column('ticket_id', _S(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_category_code'), ['category_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_address_key'), ['address_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_last_seen_at'), ['last_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_status'), ['status'], unique=False)

    op.create_table('incident_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', _S(length=64), nullable=False),
    sa.Column('post_id', _S(length=200), nullable=False),
    sa.Column('canonical_id', _S(length=200), nullable=False),
    sa.Column('url', _S(length=500), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('reported_at', _TS, nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('canonical_id', name='uq_incident_reports_canonical')
    )
    with op.batch_alter_table('incident_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_reports_incident_id'), ['incident_id'], unique=False)

    op.create_table('incident_locks',
    sa.Column('category_code', _S(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('category_code')
    )

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', _S(length=200), nullable=False),
    sa.Column('kind', _S(length=30), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_events_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_created_at'))
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))
    op.drop_table('ticket_events')
    op.drop_table('incident_locks')
    with op.batch_alter_table('incident_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_reports_incident_id'))
    op.drop_table('incident_reports')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_status'))
        batch_op.drop_index(batch_op.f('ix_incidents_last_seen_at'))
        batch_op.drop_index(batch_op.f('ix_incidents_address_key'))
        batch_op.drop_index(batch_op.f('ix_incidents_category_code'))
    op.drop_table('incidents')
