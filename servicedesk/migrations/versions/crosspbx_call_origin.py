"""crosspbx: call.origin_pbx_id / origin_linkedid (a caller transferred from another PBX)

Revision ID: crosspbx_call_origin
Revises: calling_features
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "crosspbx_call_origin"
down_revision: str | None = "calling_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call") as batch:
        batch.add_column(sa.Column("origin_pbx_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("origin_linkedid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call") as batch:
        batch.drop_column("origin_linkedid")
        batch.drop_column("origin_pbx_id")
