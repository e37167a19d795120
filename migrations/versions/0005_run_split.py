"""run split: the ML split (train/val/test/custom) a run belongs to, as copick's Croissant backend keeps it

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column is added in place on every dialect: no table rebuild, which on SQLite would have to drop
    # the run table that every other table references.
    op.add_column("run", sa.Column("split", sa.String(), nullable=True))
    op.create_index(op.f("ix_run_split"), "run", ["split"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_run_split"), table_name="run")
    op.drop_column("run", "split")  # SQLite >= 3.35 drops a column in place
