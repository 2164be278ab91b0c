"""agency_cases.summary_en: the agency case summary in English beside the zh-CN one (issue 13 item 4)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00

Nullable: agency cases derived before this revision get their English summary at the next night's
rescoring (carbonqa.cases.agency.update_agency_cases), as cases.summary_en did in 0004.
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency_cases") as batch:
        batch.add_column(sa.Column("summary_en", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agency_cases") as batch:
        batch.drop_column("summary_en")
