"""tamper evidence: hash-chain columns, chain heads, append-only triggers, sign-in lockout

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 04:20:00

Adds ``prev_hash`` / ``row_hash`` to every raw table and to ``case_events``, the ``chain_heads``
table, ``users.failed_logins`` / ``users.locked_until``; links the rows already stored (in primary-key
order, from their content as it is now) and then creates the triggers refusing UPDATE and DELETE on
the chained tables (:mod:`carbonqa.store.chain`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

#: chained tables as of this revision (a later raw table gets its columns and triggers where it is created)
RAW = ['raw_enterprises', 'raw_units', 'raw_agencies', 'raw_monthly_reports', 'raw_lab_reports',
       'raw_annual_reports', 'raw_verifications', 'raw_tips']
CHAINED = [*RAW, 'case_events', 'chain_heads']


def upgrade() -> None:
    from carbonqa.store import chain

    for t in [*RAW, 'case_events']:
        with op.batch_alter_table(t, schema=None) as batch_op:
            batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
    op.create_table('chain_heads',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=100), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('last_row_id', sa.Integer(), nullable=True),
    sa.Column('n_rows', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('row_hash', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_heads'))
    )
    with op.batch_alter_table('chain_heads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_heads_run_id'), ['run_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))

    conn = op.get_bind()
    chain.backfill(conn)
    chain.create_triggers(conn, CHAINED)


def downgrade() -> None:
    from carbonqa.store import chain

    conn = op.get_bind()
    chain.drop_triggers(conn, CHAINED)
    if conn.dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS carbonqa_refuse_change()')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
    with op.batch_alter_table('chain_heads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_heads_run_id'))
    op.drop_table('chain_heads')
    for t in [*RAW, 'case_events']:
        with op.batch_alter_table(t, schema=None) as batch_op:
            batch_op.drop_column('row_hash')
            batch_op.drop_column('prev_hash')
