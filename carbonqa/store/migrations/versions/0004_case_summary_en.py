"""cases.summary_en: the case summary in English beside the zh-CN one (issue 15 item 5)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 05:10:00

Nullable: cases scored before this revision get their English summary at the next night's rescoring.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('summary_en', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('summary_en')
