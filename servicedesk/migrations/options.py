"""Options shared by the Alembic environment and the schema check.

`render_as_batch` on SQLite because SQLite cannot ALTER most things; Alembic
then copies the table. The custom column types render as plain SQLAlchemy types
so a revision never imports application code.
"""

from __future__ import annotations

from typing import Any

from servicedesk.models import UtcDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def context_options(dialect_name: str) -> dict[str, Any]:
    return {
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
        "compare_server_default": False,
        "render_item": render_item,
    }
