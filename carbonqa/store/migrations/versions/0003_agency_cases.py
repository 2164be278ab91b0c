"""agency cases: agency_cases and agency_case_clients (issue 12 item 4, CONTRACT.md §5 Agency cases)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 04:30:00

One case per technical service agency, role and reporting year (``AQ-<year>-<role>-<agency_id>``)
and one row per client enterprise of it (:mod:`carbonqa.agency_cases`). Column widths follow the
enterprise ``cases`` table (ids 100/200, province 10, city 100, status 30).
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency_cases',
    sa.Column('case_id', sa.String(length=100), nullable=False),
    sa.Column('agency_id', sa.String(length=200), nullable=False),
    sa.Column('agency_role', sa.String(length=20), nullable=False),
    sa.Column('agency_name', sa.Text(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('risk_score', sa.Float(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('rule_codes', sa.Text(), nullable=False),
    sa.Column('clients', sa.Text(), nullable=False),
    sa.Column('n_clients', sa.Integer(), nullable=False),
    sa.Column('tco2_at_stake', sa.Float(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('score_reasons', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('last_run_id', sa.String(length=100), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_agency_cases')),
    sa.UniqueConstraint('agency_id', 'agency_role', 'year', name='uq_agency_cases_agency_role_year')
    )
    with op.batch_alter_table('agency_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_cases_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_cases_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_cases_status'), ['status'], unique=False)

    op.create_table('agency_case_clients',
    sa.Column('case_id', sa.String(length=100), nullable=False),
    sa.Column('enterprise_id', sa.String(length=200), nullable=False),
    sa.Column('province_code', sa.String(length=10), nullable=True),
    sa.Column('city_name', sa.String(length=100), nullable=True),
    sa.Column('rule_codes', sa.Text(), nullable=False),
    sa.Column('own_rule_codes', sa.Text(), nullable=False),
    sa.Column('tco2_at_stake', sa.Float(), nullable=False),
    sa.Column('enterprise_case_id', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['agency_cases.case_id'], name=op.f('fk_agency_case_clients_case_id_agency_cases')),
    sa.PrimaryKeyConstraint('case_id', 'enterprise_id', name=op.f('pk_agency_case_clients'))
    )
    with op.batch_alter_table('agency_case_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_case_clients_province_code'), ['province_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agency_case_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_case_clients_province_code'))
    op.drop_table('agency_case_clients')
    with op.batch_alter_table('agency_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_cases_status'))
        batch_op.drop_index(batch_op.f('ix_agency_cases_province_code'))
        batch_op.drop_index(batch_op.f('ix_agency_cases_agency_id'))
    op.drop_table('agency_cases')
