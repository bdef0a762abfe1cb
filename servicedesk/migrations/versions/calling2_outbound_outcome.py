"""calling2: outbound call outcomes (click-to-call and callback dials are not IVR calls)

Revision ID: calling2_outbound_outcome
Revises: calling_features
Create Date: 2026-12-04 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "calling2_outbound_outcome"
down_revision: str | None = "crosspbx_call_origin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "answered",
    "abandoned",
    "timeout",
    "exit_empty",
    "join_empty",
    "exit_key",
    "withdraw",
    "transferred",
    "callback_requested",
    "ivr_only",
)
AFTER = (*BEFORE, "outbound_answered", "outbound_no_answer")


def _outcome_check(values: Sequence[str]) -> None:
    condition = "outcome IN (" + ", ".join(f"'{v}'" for v in values) + ")"
    with op.batch_alter_table("call") as batch:
        batch.drop_constraint(op.f("ck_call_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_call_outcome"), condition)


def upgrade() -> None:
    _outcome_check(AFTER)


def downgrade() -> None:
    op.execute(
        "UPDATE call SET outcome = 'ivr_only'"
        " WHERE outcome IN ('outbound_answered', 'outbound_no_answer')"
    )
    _outcome_check(BEFORE)
