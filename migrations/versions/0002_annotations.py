"""annotations: picks (points stored compactly per set), meshes, segmentations

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mesh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("object_name", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("vertex_count", sa.Integer(), nullable=False),
        sa.Column("face_count", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"], ["data_root.id"], name=op.f("fk_mesh_root_id_data_root"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_mesh_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mesh")),
        sa.UniqueConstraint(
            "run_id", "object_name", "user_id", "session_id", name=op.f("uq_mesh_run_id_object_name_user_id_session_id")
        ),
    )
    op.create_index(
        op.f("ix_mesh_object_name_user_id_session_id"), "mesh", ["object_name", "user_id", "session_id"], unique=False
    )
    op.create_index(op.f("ix_mesh_user_id_session_id"), "mesh", ["user_id", "session_id"], unique=False)

    op.create_table(
        "picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("object_name", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("locations", sa.LargeBinary(), nullable=False),
        sa.Column("transform_index", sa.LargeBinary(), nullable=True),
        sa.Column("transforms", sa.LargeBinary(), nullable=True),
        sa.Column("instance_ids", sa.LargeBinary(), nullable=True),
        sa.Column("instance_id_null", sa.LargeBinary(), nullable=True),
        sa.Column("scores", sa.LargeBinary(), nullable=True),
        sa.Column("trust_orientation", sa.Boolean(), nullable=True),
        sa.Column("voxel_spacing", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_picks_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_picks")),
        sa.UniqueConstraint(
            "run_id",
            "object_name",
            "user_id",
            "session_id",
            name=op.f("uq_picks_run_id_object_name_user_id_session_id"),
        ),
    )
    op.create_index(
        op.f("ix_picks_object_name_user_id_session_id"), "picks", ["object_name", "user_id", "session_id"], unique=False
    )
    op.create_index(op.f("ix_picks_user_id_session_id"), "picks", ["user_id", "session_id"], unique=False)

    op.create_table(
        "segmentation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("voxel_size", sa.Float(), nullable=False),
        sa.Column("voxel_key", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("is_multilabel", sa.Boolean(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"], ["data_root.id"], name=op.f("fk_segmentation_root_id_data_root"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_segmentation_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segmentation")),
        sa.UniqueConstraint(
            "run_id",
            "voxel_key",
            "user_id",
            "session_id",
            "name",
            "is_multilabel",
            name=op.f("uq_segmentation_run_id_voxel_key_user_id_session_id_name_is_multilabel"),
        ),
    )
    op.create_index(
        op.f("ix_segmentation_name_user_id_session_id"), "segmentation", ["name", "user_id", "session_id"], unique=False
    )
    op.create_index(op.f("ix_segmentation_user_id_session_id"), "segmentation", ["user_id", "session_id"], unique=False)
    op.create_index(op.f("ix_segmentation_voxel_key"), "segmentation", ["voxel_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_segmentation_voxel_key"), table_name="segmentation")
    op.drop_index(op.f("ix_segmentation_user_id_session_id"), table_name="segmentation")
    op.drop_index(op.f("ix_segmentation_name_user_id_session_id"), table_name="segmentation")

    op.drop_table("segmentation")
    op.drop_index(op.f("ix_picks_user_id_session_id"), table_name="picks")
    op.drop_index(op.f("ix_picks_object_name_user_id_session_id"), table_name="picks")

    op.drop_table("picks")
    op.drop_index(op.f("ix_mesh_user_id_session_id"), table_name="mesh")
    op.drop_index(op.f("ix_mesh_object_name_user_id_session_id"), table_name="mesh")

    op.drop_table("mesh")
