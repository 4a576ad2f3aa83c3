"""Rows in general: a typed row from a wider database row, and one record's update (a shift
closes, an appeal is decided)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar


async def update_row(table: type[Any], row_id: int, values: dict[str, Any]) -> None:
    """Set some columns of one record, by its primary key (simple CRUD: the query builder)."""
    await table.update({table._meta.get_column_by_name(k): v for k, v in values.items()}).where(
        table._meta.primary_key == row_id
    )


Picked = TypeVar("Picked")


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(field.name for field in fields(cls))
    return names


def picked(cls: type[Picked], row: Mapping[str, Any]) -> Picked:
    """A typed row from a wider database row (`SELECT t.*, …`): the class's fields, by name,
    as the database typed them (nothing is converted)."""
    return cls(**{name: row[name] for name in _names(cls)})
