"""import sources: the copick files and stores an import read, for incremental re-imports

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"], ["data_root.id"], name=op.f("fk_import_source_root_id_data_root"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_source")),
        sa.UniqueConstraint("root_id", "path", name=op.f("uq_import_source_root_id_path")),
    )
    op.create_index(op.f("ix_import_source_kind_entity_id"), "import_source", ["kind", "entity_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_import_source_kind_entity_id"), table_name="import_source")
    op.drop_table("import_source")
