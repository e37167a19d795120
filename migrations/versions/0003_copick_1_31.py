"""copick 1.31: filament sets; instance and panoptic segmentation types

Revision ID: 0003
Revises: 0002

Existing segmentations become binary or multilabel as they were (``is_instance`` and ``is_panoptic`` false), and the
segmentation identity gains the two flags. SQLite cannot alter constraints in place, so the segmentation table is
rebuilt (``batch_alter_table``); ``schema.upgrade`` runs this with foreign keys off and checks them before the commit.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OLD_UNIQUE = "uq_segmentation_run_id_voxel_key_user_id_session_id_name_is_multilabel"
_NEW_UNIQUE = "uq_segmentation_run_id_voxel_key_user_id_session_id_name_is_multilabel_is_instance_is_panoptic"
_TYPE_INDEX = "ix_segmentation_is_multilabel_is_instance_is_panoptic"
_ONE_TYPE = "ck_segmentation_one_type"
_ONE_TYPE_SQL = (
    "NOT (is_multilabel AND is_instance) AND NOT (is_multilabel AND is_panoptic) AND NOT (is_instance AND is_panoptic)"
)


def upgrade() -> None:
    op.create_table(
        "filaments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("object_name", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("filament_count", sa.Integer(), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("points", sa.LargeBinary(), nullable=False),
        sa.Column("offsets", sa.LargeBinary(), nullable=False),
        sa.Column("instance_ids", sa.LargeBinary(), nullable=False),
        sa.Column("attributes", sa.String(), nullable=True),
        sa.Column("voxel_spacing", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_filaments_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filaments")),
        sa.UniqueConstraint(
            "run_id",
            "object_name",
            "user_id",
            "session_id",
            name=op.f("uq_filaments_run_id_object_name_user_id_session_id"),
        ),
    )
    op.create_index(
        op.f("ix_filaments_object_name_user_id_session_id"),
        "filaments",
        ["object_name", "user_id", "session_id"],
        unique=False,
    )
    op.create_index(op.f("ix_filaments_user_id_session_id"), "filaments", ["user_id", "session_id"], unique=False)

    with op.batch_alter_table("segmentation") as batch:
        batch.add_column(sa.Column("is_instance", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("is_panoptic", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint(op.f(_OLD_UNIQUE), type_="unique")
        batch.create_unique_constraint(
            op.f(_NEW_UNIQUE),
            ["run_id", "voxel_key", "user_id", "session_id", "name", "is_multilabel", "is_instance", "is_panoptic"],
        )
        batch.create_check_constraint(op.f(_ONE_TYPE), _ONE_TYPE_SQL)
        batch.create_index(op.f(_TYPE_INDEX), ["is_multilabel", "is_instance", "is_panoptic"], unique=False)


def downgrade() -> None:
    # Fails if a run holds two segmentations that differ only in the new flags: revision 0002 cannot tell them apart.
    with op.batch_alter_table("segmentation") as batch:
        batch.drop_index(op.f(_TYPE_INDEX))
        batch.drop_constraint(op.f(_ONE_TYPE), type_="check")
        batch.drop_constraint(op.f(_NEW_UNIQUE), type_="unique")
        batch.create_unique_constraint(
            op.f(_OLD_UNIQUE), ["run_id", "voxel_key", "user_id", "session_id", "name", "is_multilabel"]
        )
        batch.drop_column("is_panoptic")
        batch.drop_column("is_instance")

    op.drop_index(op.f("ix_filaments_user_id_session_id"), table_name="filaments")
    op.drop_index(op.f("ix_filaments_object_name_user_id_session_id"), table_name="filaments")
    op.drop_table("filaments")
