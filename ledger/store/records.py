"""Records of events (not entries) whose state changes: a shift closes, an appeal is decided."""

from __future__ import annotations

from typing import Any


async def update_row(table: type[Any], row_id: int, values: dict[str, Any]) -> None:
    """Set some columns of one record, by its primary key (simple CRUD: the query builder)."""
    await table.update({table._meta.get_column_by_name(k): v for k, v in values.items()}).where(
        table._meta.primary_key == row_id
    )
