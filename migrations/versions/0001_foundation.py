"""foundation: project, data roots, objects, runs, voxel spacings, tomograms, features

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_root",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_root")),
        sa.UniqueConstraint("name", name=op.f("uq_data_root_name")),
    )
    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("version", sa.String(), nullable=True),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("session_id", sa.String(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
        sa.UniqueConstraint("name", name=op.f("uq_run_name")),
    )
    op.create_table(
        "pickable_object",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_particle", sa.Boolean(), nullable=False),
        sa.Column("label", sa.Integer(), nullable=True),
        sa.Column("color", sa.String(), nullable=True),
        sa.Column("emdb_id", sa.String(), nullable=True),
        sa.Column("pdb_id", sa.String(), nullable=True),
        sa.Column("identifier", sa.String(), nullable=True),
        sa.Column("map_threshold", sa.Float(), nullable=True),
        sa.Column("radius", sa.Float(), nullable=True),
        sa.Column("metadata_json", sa.String(), nullable=False),
        sa.Column("map_root_id", sa.Integer(), nullable=True),
        sa.Column("map_path", sa.String(), nullable=True),
        sa.Column("map_voxel_size", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["map_root_id"],
            ["data_root.id"],
            name=op.f("fk_pickable_object_map_root_id_data_root"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pickable_object")),
        sa.UniqueConstraint("label", name=op.f("uq_pickable_object_label")),
        sa.UniqueConstraint("name", name=op.f("uq_pickable_object_name")),
    )
    op.create_table(
        "voxel_spacing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("voxel_size", sa.Float(), nullable=False),
        sa.Column("voxel_key", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_voxel_spacing_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voxel_spacing")),
        sa.UniqueConstraint("run_id", "voxel_key", name=op.f("uq_voxel_spacing_run_id_voxel_key")),
    )
    op.create_index(op.f("ix_voxel_spacing_voxel_key"), "voxel_spacing", ["voxel_key"], unique=False)
    op.create_table(
        "tomogram",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voxel_spacing_id", sa.Integer(), nullable=False),
        sa.Column("tomo_type", sa.String(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("size_x", sa.Integer(), nullable=True),
        sa.Column("size_y", sa.Integer(), nullable=True),
        sa.Column("size_z", sa.Integer(), nullable=True),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"], ["data_root.id"], name=op.f("fk_tomogram_root_id_data_root"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["voxel_spacing_id"],
            ["voxel_spacing.id"],
            name=op.f("fk_tomogram_voxel_spacing_id_voxel_spacing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tomogram")),
        sa.UniqueConstraint("voxel_spacing_id", "tomo_type", name=op.f("uq_tomogram_voxel_spacing_id_tomo_type")),
    )
    op.create_index(op.f("ix_tomogram_tomo_type"), "tomogram", ["tomo_type"], unique=False)
    op.create_table(
        "features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tomogram_id", sa.Integer(), nullable=False),
        sa.Column("feature_type", sa.String(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("modified", sa.Float(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"], ["data_root.id"], name=op.f("fk_features_root_id_data_root"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tomogram_id"], ["tomogram.id"], name=op.f("fk_features_tomogram_id_tomogram"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_features")),
        sa.UniqueConstraint("tomogram_id", "feature_type", name=op.f("uq_features_tomogram_id_feature_type")),
    )
    op.create_index(op.f("ix_features_feature_type"), "features", ["feature_type"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_features_feature_type"), table_name="features")
    op.drop_table("features")
    op.drop_index(op.f("ix_tomogram_tomo_type"), table_name="tomogram")
    op.drop_table("tomogram")
    op.drop_index(op.f("ix_voxel_spacing_voxel_key"), table_name="voxel_spacing")
    op.drop_table("voxel_spacing")
    op.drop_table("pickable_object")
    op.drop_table("run")
    op.drop_table("project")
    op.drop_table("data_root")
