"""screened_partitions: the partitions a run screened, as a table (issue 13 item 3)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:00:00

Until 0005 the only record of what a run screened was the ``"<year>/<province>"`` keys of the run's JSON
``counts``, which the case update parsed. Runs before this revision have no rows here; the case update
then falls back to every province of the year (as for a run that recorded nothing).
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screened_partitions",
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "year", "province_code", "stage", name="pk_screened_partitions"),
    )


def downgrade() -> None:
    op.drop_table("screened_partitions")
